/// What a peer session carries: media out to a WHEP viewer, or media in from a WHIP publisher.
public enum PeerRole: String, Sendable, Hashable {
    /// WebRTC-HTTP Egress Protocol: Sluice sends, the peer plays.
    case whep
    /// WebRTC-HTTP Ingestion Protocol (RFC 9725): the peer sends, Sluice ingests.
    case whip
}
