/// Datagrams the transport dropped, by reason. Counted per server (everything that reached the
/// socket) and per session (what was addressed to it).
public struct DatagramDrops: Sendable, Equatable {
    /// DTLS, RTP or RTCP from an address no session is bound to.
    public var unknownSource = 0
    /// A STUN request whose USERNAME names no session (or is missing).
    public var unknownUser = 0
    /// A STUN request whose MESSAGE-INTEGRITY or FINGERPRINT does not verify, or whose
    /// USERNAME's remote part is not the peer's ufrag.
    public var badIntegrity = 0
    /// Bytes that do not parse as what their first byte says (STUN, RTP, RTCP).
    public var malformed = 0
    /// A first byte no WebRTC packet starts with (RFC 7983 §7), or a STUN message that is not a binding request.
    public var unclassified = 0
    /// SRTP or SRTCP that does not authenticate or replays.
    public var decryptFailed = 0
    /// Media sent or received before DTLS finished, or after the session closed.
    public var notConnected = 0
    /// Outgoing datagrams the socket could not take (its queue past the high watermark).
    public var backpressure = 0
    /// RTP from a peer that only receives (a WHEP viewer), dropped before SRTP: libsrtp would
    /// keep a stream for each SSRC such a peer made up.
    public var unexpectedMedia = 0

    public init() {}

    /// Every drop.
    public var total: Int {
        unknownSource &+ unknownUser &+ badIntegrity &+ malformed &+ unclassified &+ decryptFailed &+ notConnected &+ backpressure
            &+ unexpectedMedia
    }

    /// Adds `amount` drops (one by default) for `reason`.
    mutating func count(_ reason: DropReason, amount: Int = 1) {
        switch reason {
        case .unknownSource: unknownSource &+= amount
        case .unknownUser: unknownUser &+= amount
        case .badIntegrity: badIntegrity &+= amount
        case .malformed: malformed &+= amount
        case .unclassified: unclassified &+= amount
        case .decryptFailed: decryptFailed &+= amount
        case .notConnected: notConnected &+= amount
        case .backpressure: backpressure &+= amount
        case .unexpectedMedia: unexpectedMedia &+= amount
        }
    }
}

/// Why one datagram was dropped (see `DatagramDrops`).
enum DropReason: Sendable {
    case unknownSource, unknownUser, badIntegrity, malformed, unclassified, decryptFailed, notConnected, backpressure, unexpectedMedia
}
