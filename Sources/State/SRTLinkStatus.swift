/// An SRT publisher's link as its ingest node last sampled it (libsrt's statistics), kept in
/// session state with the stream (`StreamSession.srt`) so every API node can show it.
public struct SRTLinkStatus: Sendable, Hashable, Codable {
    /// Smoothed round-trip time, milliseconds.
    public var rttMs: Double
    /// Data packets received since the connection began.
    public var packetsReceived: Int64
    /// Packets found missing (each asked for again): the loss the link recovered or dropped.
    public var packetsLost: Int64
    /// Packets retransmitted on the link (as libsrt counts them on this side).
    public var packetsRetransmitted: Int64
    /// Retransmitted packets that arrived: the losses the link repaired (receiver side).
    public var packetsReceivedRetransmitted: Int64
    /// Packets that came too late to play and were dropped.
    public var packetsDropped: Int64
    /// Media held in the receive buffer, milliseconds (about the latency when healthy).
    public var receiveBufferMs: Int
    /// Receive rate, Mbit/s.
    public var mbpsReceive: Double

    public init(rttMs: Double = 0, packetsReceived: Int64 = 0, packetsLost: Int64 = 0, packetsRetransmitted: Int64 = 0,
                packetsReceivedRetransmitted: Int64 = 0, packetsDropped: Int64 = 0, receiveBufferMs: Int = 0,
                mbpsReceive: Double = 0) {
        self.rttMs = rttMs
        self.packetsReceived = packetsReceived
        self.packetsLost = packetsLost
        self.packetsRetransmitted = packetsRetransmitted
        self.packetsReceivedRetransmitted = packetsReceivedRetransmitted
        self.packetsDropped = packetsDropped
        self.receiveBufferMs = receiveBufferMs
        self.mbpsReceive = mbpsReceive
    }
}
