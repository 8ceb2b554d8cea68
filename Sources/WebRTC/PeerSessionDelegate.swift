import RTC

/// What a peer session tells its owner (WHEP playback or a WHIP receiver). Every call comes on
/// the session's `eventLoop`, in order; `peerClosed` comes exactly once, last.
public protocol PeerSessionDelegate: AnyObject, Sendable {
    /// ICE bound the peer's address, DTLS finished and SRTP is keyed: media may flow.
    func peerConnected(_ session: PeerSession)
    /// An RTP packet from the peer, decrypted (WHIP media).
    func peer(_ session: PeerSession, receivedRTP packet: RTPPacket)
    /// A compound RTCP packet from the peer, decrypted and parsed (reports, NACK, PLI).
    func peer(_ session: PeerSession, receivedRTCP packets: [RTCPPacket])
    /// The session ended: "closed" (DELETE), "consent lost", "DTLS failure: …", "DTLS closed",
    /// "connect timeout", "shutdown". Nothing is sent or delivered after this.
    func peerClosed(_ session: PeerSession, reason: String)
}
