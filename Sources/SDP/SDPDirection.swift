/// A media section's direction attribute (RFC 8866 §6.7), seen from the side that wrote it.
/// Absent, a section is `sendrecv` (or what the session level says).
public enum SDPDirection: String, Sendable, CaseIterable {
    case sendrecv, sendonly, recvonly, inactive

    /// The direction an answer gives to what this offer says (RFC 3264 §6.1): an offer to
    /// receive only is answered send only, and so on.
    public var reversed: SDPDirection {
        switch self {
        case .sendrecv: .sendrecv
        case .sendonly: .recvonly
        case .recvonly: .sendonly
        case .inactive: .inactive
        }
    }

    /// Whether the side that wrote this direction sends media.
    public var sends: Bool { self == .sendrecv || self == .sendonly }
    /// Whether the side that wrote this direction receives media.
    public var receives: Bool { self == .sendrecv || self == .recvonly }
}
