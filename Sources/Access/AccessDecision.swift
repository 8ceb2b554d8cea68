/// What an access check answered: go ahead, or a refusal with a machine-readable code and a
/// reason for the client (HTTP 403 with a JSON error, or an RTMP `onStatus` error).
public enum AccessDecision: Sendable, Hashable {
    case allow
    case deny(code: String, reason: String)
}
