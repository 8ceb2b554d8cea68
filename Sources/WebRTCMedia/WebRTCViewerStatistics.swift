import Events
import WebRTC

/// One WebRTC peer's numbers as the streams API, the console and `/metrics` show them: a WHEP
/// viewer's (or a WHIP publisher's) round trip, loss and repairs.
public struct WebRTCViewerStatistics: Sendable, Equatable {
    public var stream: StreamID
    /// The session id (the resource URL's last component).
    public var session: String
    public var role: PeerRole
    public var clientIP: String?
    /// Round-trip time from the peer's receiver reports (LSR/DLSR, RFC 3550 §6.4.1), ms; nil before the first.
    public var rttMs: Double?
    /// The fraction of packets the peer reported lost in its last report, 0…1.
    public var fractionLost: Double
    /// Packets the peer reported lost in all (cumulative, RFC 3550 §6.4.1).
    public var packetsLost: Int
    /// NACK feedback messages received (RFC 4585 §6.2.1).
    public var nacksReceived: Int
    /// PLI and FIR messages received (RFC 4585 §6.3.1, RFC 5104 §4.3.1).
    public var plisReceived: Int
    /// Packets sent again in answer to NACKs.
    public var retransmitted: Int
    /// RTP packets sent (retransmissions included).
    public var packetsSent: Int
    /// RTP bytes sent, before SRTP.
    public var bytesSent: Int
    /// Seconds since DTLS connected; 0 before.
    public var connectedSeconds: Double

    public init(stream: StreamID, session: String, role: PeerRole, clientIP: String?, rttMs: Double?, fractionLost: Double,
                packetsLost: Int, nacksReceived: Int, plisReceived: Int, retransmitted: Int, packetsSent: Int, bytesSent: Int,
                connectedSeconds: Double) {
        self.stream = stream
        self.session = session
        self.role = role
        self.clientIP = clientIP
        self.rttMs = rttMs
        self.fractionLost = fractionLost
        self.packetsLost = packetsLost
        self.nacksReceived = nacksReceived
        self.plisReceived = plisReceived
        self.retransmitted = retransmitted
        self.packetsSent = packetsSent
        self.bytesSent = bytesSent
        self.connectedSeconds = connectedSeconds
    }
}
