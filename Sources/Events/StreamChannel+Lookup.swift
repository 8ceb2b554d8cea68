import Logging

extension ChannelDirectory {
    /// `stream`'s channel, for a worker's settings: nil for a stream without one, and when the
    /// directory does not answer (logged; the worker then applies no settings this session).
    public func channel(of stream: StreamID, logger: Logger) async -> StreamChannel? {
        do {
            return try await channel(of: stream)
        } catch {
            logger.error("channel lookup failed; its settings are not applied this time", metadata: ["stream": "\(stream)", "error": "\(error)"])
            return nil
        }
    }
}

extension StreamChannel {
    /// Where the channel's streams are relayed: its enabled relays' URLs.
    public var relayURLs: [String] { relays.filter(\.enabled).map(\.url) }
}
