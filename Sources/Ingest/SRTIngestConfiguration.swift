import NIOCore
import SRT

/// Settings of the SRT listener (publish and play over SRT). Built and validated by the
/// executable; the per-channel passphrase and latency are channel settings (`StreamChannel.SRT`).
public struct SRTIngestConfiguration: Sendable {
    /// Address to listen on (numeric IPv4 or IPv6). Default `0.0.0.0`.
    public var host: String
    /// UDP port; 0 picks a free one. Default 10080.
    public var port: Int
    /// How long a caller's handshake may wait for the publish or play decision (signature,
    /// channel, admission hook, publish lock). Default 3 s, at most 10 s: it holds libsrt's
    /// receive thread, so the port's other connections wait with it.
    public var decisionTimeout: Duration
    /// Most simultaneous SRT connections, publishers and players. Default 1000.
    public var maxConnections: Int
    /// AES key length of every encrypted connection, in bytes (16, 24 or 32); nil, the default,
    /// leaves it to each caller (AES-128 unless it asks for more). libsrt takes it from the
    /// listener, not per connection, so it cannot follow a channel's passphrase.
    public var keyLengthBytes: Int?

    let server: SRTServerConfiguration

    /// - Throws: `IngestError` `.invalidConfiguration` for a value out of range or a host that
    ///   is not a numeric address.
    public init(host: String = "0.0.0.0", port: Int = 10080, decisionTimeout: Duration = .seconds(3),
                maxConnections: Int = 1000, keyLengthBytes: Int? = nil) throws {
        self.host = host
        self.port = port
        self.decisionTimeout = decisionTimeout
        self.maxConnections = maxConnections
        self.keyLengthBytes = keyLengthBytes
        let keyLength = try keyLengthBytes.map { bytes throws(IngestError) in
            guard let length = Int32(exactly: bytes).flatMap(SRTKeyLength.init(rawValue:)) else {
                throw IngestError(.invalidConfiguration, "SRT key length must be 16, 24 or 32 bytes")
            }
            return length
        }
        let (seconds, attoseconds) = decisionTimeout.components
        // Bounded before the arithmetic; the server's own range check refuses what is out of it.
        let milliseconds = min(max(seconds, 0), 60) * 1000 + attoseconds / 1_000_000_000_000_000
        do {
            server = try SRTServerConfiguration(host: host, port: port, decisionTimeout: .milliseconds(milliseconds),
                                                maxConnections: maxConnections, keyLength: keyLength)
        } catch {
            throw IngestError(.invalidConfiguration, "SRT: \(error)")
        }
    }
}
