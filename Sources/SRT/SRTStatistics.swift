import CSRT

/// One connection's transport statistics, from libsrt's `srt_bstats`.
///
/// Totals count from the connection's start. Rates and buffer spans are libsrt's at the moment
/// of the sample (rates average over the time since the previous sample).
public struct SRTStatistics: Sendable, Equatable {
    /// Smoothed round-trip time, milliseconds.
    public var rttMs: Double = 0
    /// Data packets sent, retransmissions included.
    public var packetsSent: Int64 = 0
    /// Data packets received.
    public var packetsReceived: Int64 = 0
    /// Packets the receiver found missing (sequence gaps it asked to have resent).
    public var packetsLost: Int64 = 0
    /// Packets the sender was told were lost.
    public var packetsSendLost: Int64 = 0
    /// Packets sent again (sender side: a player's connection).
    public var packetsRetransmitted: Int64 = 0
    /// Retransmitted packets that arrived (receiver side: a publisher's connection).
    public var packetsReceivedRetransmitted: Int64 = 0
    /// Packets that could not be decrypted (a passphrase problem).
    public var packetsUndecrypted: Int64 = 0
    /// Packets dropped: too late to play (receiver) plus too late to send (sender).
    public var packetsDropped: Int64 = 0
    /// Bytes sent and received, payload and SRT header.
    public var bytesSent: UInt64 = 0
    public var bytesReceived: UInt64 = 0
    /// Time span of the received data not yet delivered to us, milliseconds.
    public var receiveBufferMs: Int = 0
    /// Time span of the sent data not yet acknowledged, milliseconds.
    public var sendBufferMs: Int = 0
    /// Send and receive rates, Mbit/s.
    public var mbpsSend: Double = 0
    public var mbpsReceive: Double = 0
    /// libsrt's estimate of the link's bandwidth, Mbit/s.
    public var mbpsBandwidth: Double = 0

    public init() {}

    /// The figures of one `srt_bstats` answer (libsrt's counters are never negative; the
    /// conversions clamp anyway).
    init(_ perf: SRT_TRACEBSTATS) {
        rttMs = perf.msRTT.isFinite ? perf.msRTT : 0
        packetsSent = max(0, perf.pktSentTotal)
        packetsReceived = max(0, perf.pktRecvTotal)
        packetsLost = Int64(max(0, perf.pktRcvLossTotal))
        packetsSendLost = Int64(max(0, perf.pktSndLossTotal))
        packetsRetransmitted = Int64(max(0, perf.pktRetransTotal))
        // libsrt keeps no total of this one: the interval's count, summed by `adding(to:)`.
        packetsReceivedRetransmitted = Int64(max(0, perf.pktRcvRetrans))
        packetsUndecrypted = Int64(max(0, perf.pktRcvUndecryptTotal))
        packetsDropped = Int64(max(0, perf.pktRcvDropTotal)) + Int64(max(0, perf.pktSndDropTotal))
        bytesSent = perf.byteSentTotal
        bytesReceived = perf.byteRecvTotal
        receiveBufferMs = Int(max(0, perf.msRcvBuf))
        sendBufferMs = Int(max(0, perf.msSndBuf))
        mbpsSend = perf.mbpsSendRate.isFinite ? perf.mbpsSendRate : 0
        mbpsReceive = perf.mbpsRecvRate.isFinite ? perf.mbpsRecvRate : 0
        mbpsBandwidth = perf.mbpsBandwidth.isFinite ? perf.mbpsBandwidth : 0
    }

    /// This sample's interval counts added to `previous`'s totals (the counters libsrt only keeps
    /// per interval), for samples taken with `clear`.
    func adding(to previous: SRTStatistics) -> SRTStatistics {
        var total = self
        total.packetsReceivedRetransmitted = previous.packetsReceivedRetransmitted.addingReportingOverflow(
            packetsReceivedRetransmitted).partialValue
        return total
    }

    /// A sample of `socket`'s statistics, nil once it is closed. `clear` restarts libsrt's
    /// interval (the rates) without touching the totals.
    static func sample(_ socket: SRTSocket, clear: Bool) -> SRTStatistics? {
        var perf = SRT_TRACEBSTATS()
        guard srt_bistats(socket.id, &perf, clear ? 1 : 0, 1) == 0 else { return nil }
        return SRTStatistics(perf)
    }
}
