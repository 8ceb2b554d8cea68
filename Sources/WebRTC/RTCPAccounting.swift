import NIOCore
import RTC

/// What the RTCP a peer exchanges adds to its statistics: the sender reports it sent (for
/// RTT, RFC 3550 §6.4.1), and the feedback and report blocks it received.
struct RTCPAccounting: Sendable {
    private var senderReports = SenderReportLog()
    private var ledger = ReceiverReportLedger()

    /// Notes a plain compound RTCP packet about to leave at `now`: a leading sender report is remembered.
    mutating func sending(_ plain: ByteBuffer, at now: NIODeadline) {
        if let ntp = Self.senderReportNTP(plain) { senderReports.sent(ntp: ntp, at: now) }
    }

    /// Counts `packets`, received at `now`, into `statistics`.
    mutating func received(_ packets: [RTCPPacket], at now: NIODeadline, into statistics: inout PeerStatistics) {
        for packet in packets {
            switch packet {
            case .receiverReport(let report):
                for block in report.reports { received(block, at: now, into: &statistics) }
            case .senderReport(let report):
                for block in report.reports { received(block, at: now, into: &statistics) }
            case .nack(let nack):
                statistics.nacksReceived &+= 1
                statistics.nackedPackets &+= nack.lost.count
            case .pli:
                statistics.plisReceived &+= 1
            case .fir:
                statistics.firsReceived &+= 1
            case .bye, .other:
                break
            }
        }
    }

    private mutating func received(_ block: RTCPReportBlock, at now: NIODeadline, into statistics: inout PeerStatistics) {
        ledger.record(block, into: &statistics)
        if let rtt = senderReports.roundTripMs(lastSR: block.lastSR, delaySinceLastSR: block.delaySinceLastSR, now: now) {
            statistics.rttMs = rtt
        }
    }

    /// The NTP timestamp of the sender report leading a compound RTCP packet (RFC 3550 §6.4.1), if one does.
    static func senderReportNTP(_ packet: ByteBuffer) -> UInt64? {
        let start = packet.readerIndex
        guard packet.readableBytes >= 16, packet.getInteger(at: start + 1, as: UInt8.self) == 200 else { return nil }
        return packet.getInteger(at: start + 8, as: UInt64.self)
    }
}
