import NIOCore
import RTC
@testable import WebRTC
import XCTest

/// RTT from report blocks against the sender reports a session sent, and the report totals.
final class PeerStatisticsTests: XCTestCase {
    func senderReport(ntp: UInt64) -> ByteBuffer {
        var buffer = ByteBuffer()
        RTCPPacket.senderReport(RTCPSenderReport(ssrc: 1, ntpTime: ntp, rtpTimestamp: 0, packetCount: 0, octetCount: 0, reports: []))
            .write(into: &buffer)
        return buffer
    }

    func block(ssrc: UInt32 = 1, lost: Int32 = 0, fraction: UInt8 = 0, jitter: UInt32 = 0, lastSR: UInt32, delay: UInt32) -> RTCPReportBlock {
        RTCPReportBlock(ssrc: ssrc, fractionLost: fraction, cumulativeLost: lost, highestSequence: 100, jitter: jitter,
                        lastSR: lastSR, delaySinceLastSR: delay)
    }

    func testRoundTripIsArrivalMinusSendMinusDelay() {
        var accounting = RTCPAccounting()
        var statistics = PeerStatistics()
        let sent = NIODeadline.uptimeNanoseconds(10_000_000_000)
        let ntp: UInt64 = 0xE000_1234_5678_9ABC
        accounting.sending(senderReport(ntp: ntp), at: sent)
        accounting.sending(senderReport(ntp: ntp &+ (1 << 32)), at: sent + .seconds(1))
        // The peer held the first report 1 s (65536 units) and answered; 1.05 s after it left.
        let report = RTCPPacket.receiverReport(RTCPReceiverReport(ssrc: 9, reports: [block(lastSR: NTPTime.middle32(ntp), delay: 65_536)]))
        accounting.received([report], at: sent + .milliseconds(1_050), into: &statistics)
        XCTAssertEqual(try XCTUnwrap(statistics.rttMs), 50, accuracy: 0.01)
        // An LSR this session never sent leaves the RTT alone.
        let stranger = RTCPPacket.receiverReport(RTCPReceiverReport(ssrc: 9, reports: [block(lastSR: 77, delay: 0)]))
        accounting.received([stranger], at: sent + .seconds(5), into: &statistics)
        XCTAssertEqual(try XCTUnwrap(statistics.rttMs), 50, accuracy: 0.01)
        XCTAssertEqual(statistics.reportsReceived, 2)
    }

    func testReportsSumLossOverSSRCsAndKeepTheWorstFraction() {
        var accounting = RTCPAccounting()
        var statistics = PeerStatistics()
        let now = NIODeadline.uptimeNanoseconds(1)
        accounting.received([.receiverReport(RTCPReceiverReport(ssrc: 9, reports: [
            block(ssrc: 1, lost: 5, fraction: 64, jitter: 30, lastSR: 0, delay: 0),
            block(ssrc: 2, lost: 2, fraction: 0, jitter: 90, lastSR: 0, delay: 0),
        ]))], at: now, into: &statistics)
        accounting.received([.receiverReport(RTCPReceiverReport(ssrc: 9, reports: [block(ssrc: 1, lost: 7, fraction: 32, jitter: 10, lastSR: 0, delay: 0)]))],
                            at: now, into: &statistics)
        accounting.received([.nack(RTCPNack(senderSSRC: 9, mediaSSRC: 1, lost: [1, 2, 3])), .pli(senderSSRC: 9, mediaSSRC: 1)],
                            at: now, into: &statistics)
        XCTAssertEqual(statistics.packetsLost, 9)
        XCTAssertEqual(statistics.fractionLost, 0.125)
        XCTAssertEqual(statistics.jitter, 90)
        XCTAssertNil(statistics.rttMs)
        XCTAssertEqual(statistics.nacksReceived, 1)
        XCTAssertEqual(statistics.nackedPackets, 3)
        XCTAssertEqual(statistics.plisReceived, 1)
    }
}
