/// Why a WHEP play or WHIP publish was not started. The HTTP edge maps `kind` to a status (400,
/// 404, 409, 422, 503, 401/403) and sends `reason` in its JSON error body.
public struct WebRTCRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// The offer cannot be answered (no usable codec, no fingerprint): 400.
        case badRequest
        /// No such stream live (or no such session): 404.
        case notFound
        /// The stream is published already (WHIP): 409.
        case conflict
        /// The stream's media cannot be carried over WebRTC (HEVC, B-frames): 422.
        case unsupported
        /// The server cannot take the session now (too many sessions, WebRTC off): 503.
        case unavailable
        /// A signature or token is missing or wrong: 401/403.
        case unauthorized
    }

    public var kind: Kind
    /// For people: what was wrong and, where there is one, what to do instead.
    public var reason: String

    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public var description: String { "\(kind.rawValue): \(reason)" }
}
