/// What an admission hook is asked: `POST` of this JSON, signed with `X-Sluice-Signature`.
public struct AdmissionRequest: Codable, Sendable, Hashable {
    public enum Action: String, Codable, Sendable, Hashable {
        case publish
        case play
    }

    public var action: Action
    /// `rtmp`, `rtmps`, `flv`, `hls`, `llhls` or `dash`.
    public var `protocol`: String
    /// The channel id, when the stream belongs to one.
    public var channel: String?
    public var stream: String
    public var clientIP: String?
    /// The request's query, signatures and tokens included, so a hook can use its own.
    public var query: [String: String]

    public init(action: Action, protocol: String, channel: String?, stream: String, clientIP: String?,
                query: [String: String]) {
        self.action = action
        self.protocol = `protocol`
        self.channel = channel
        self.stream = stream
        self.clientIP = clientIP
        self.query = query
    }
}
