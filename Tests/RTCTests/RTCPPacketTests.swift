import NIOCore
import XCTest
@testable import RTC

final class RTCPPacketTests: XCTestCase {
    let block = RTCPReportBlock(ssrc: 0x0102_0304, fractionLost: 25, cumulativeLost: -3, highestSequence: 0x0001_0005,
                                jitter: 120, lastSR: 0xAABB_CCDD, delaySinceLastSR: 65536)

    func testSenderReportWithBlocksBothWays() throws {
        let report = RTCPSenderReport(ssrc: 0x1111_2222, ntpTime: 0xE000_0000_8000_0000, rtpTimestamp: 90000,
                                      packetCount: 10, octetCount: 12000, reports: [block, block])
        var buffer = ByteBuffer()
        RTCPPacket.senderReport(report).write(into: &buffer)
        XCTAssertEqual(buffer.readableBytes, 28 + 48)
        XCTAssertEqual(Array(buffer.bytes[0..<4]), [0x82, 200, 0x00, 0x12])
        // cumulative lost -3 as 24-bit two's complement after the fraction byte
        XCTAssertEqual(Array(buffer.bytes[32..<36]), [25, 0xFF, 0xFF, 0xFD])
        XCTAssertEqual(try RTCPPacket.parseCompound(buffer), [.senderReport(report)])
    }

    func testReceiverReportBothWays() throws {
        let report = RTCPReceiverReport(ssrc: 9, reports: [block])
        var buffer = ByteBuffer()
        RTCPPacket.receiverReport(report).write(into: &buffer)
        XCTAssertEqual(Array(buffer.bytes[0..<8]), [0x81, 201, 0, 7, 0, 0, 0, 9])
        XCTAssertEqual(try RTCPPacket.parseCompound(buffer), [.receiverReport(report)])
        var empty = ByteBuffer()
        RTCPPacket.receiverReport(RTCPReceiverReport(ssrc: 1)).write(into: &empty)
        XCTAssertEqual(empty.bytes, [0x80, 201, 0, 1, 0, 0, 0, 1])
    }

    /// RFC 4585 §6.2.1: PID 100 with BLP bits 0 and 15 loses 100, 101 and 116.
    func testNackWithBitmask() throws {
        let wire = ByteBuffer(hex: "81 cd 00 03 00 00 00 01 00 00 00 02 00 64 80 01")
        let parsed = try RTCPPacket.parseCompound(wire)
        XCTAssertEqual(parsed, [.nack(RTCPNack(senderSSRC: 1, mediaSSRC: 2, lost: [100, 101, 116]))])
        var written = ByteBuffer()
        parsed[0].write(into: &written)
        XCTAssertEqual(written.bytes, wire.bytes)
    }

    func testNackAcrossTheWrapAndInSeveralEntries() throws {
        let nack = RTCPNack(senderSSRC: 5, mediaSSRC: 6, lost: [65534, 65535, 3, 40, 41])
        XCTAssertEqual(nack.entries.map(\.pid), [65534, 40])
        XCTAssertEqual(nack.entries.map(\.blp), [0b10001, 0b1])
        var buffer = ByteBuffer()
        RTCPPacket.nack(nack).write(into: &buffer)
        XCTAssertEqual(try RTCPPacket.parseCompound(buffer), [.nack(nack)])
    }

    /// A hostile NACK of 16 383 full entries is read up to `RTCPNack.maxLost` sequence numbers.
    func testNackLostListIsBounded() throws {
        var buffer = ByteBuffer(bytes: [0x81, 205, 0x3F, 0xFF, 0, 0, 0, 1, 0, 0, 0, 2])
        for entry in 0..<0x3FFD { buffer.writeInteger(UInt16(truncatingIfNeeded: entry * 17)); buffer.writeInteger(UInt16.max) }
        guard case .nack(let nack) = try RTCPPacket.parseCompound(buffer).first else { return XCTFail("not a NACK") }
        XCTAssertEqual(nack.lost.count, RTCPNack.maxLost)
    }

    func testPLIAndFIR() throws {
        var buffer = ByteBuffer()
        RTCPPacket.pli(senderSSRC: 1, mediaSSRC: 0xABCD).write(into: &buffer)
        XCTAssertEqual(buffer.bytes, [0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0xAB, 0xCD])
        RTCPPacket.fir(senderSSRC: 1, mediaSSRC: 0xABCD).write(into: &buffer)
        XCTAssertEqual(try RTCPPacket.parseCompound(buffer), [.pli(senderSSRC: 1, mediaSSRC: 0xABCD), .fir(senderSSRC: 1, mediaSSRC: 0xABCD)])
    }

    /// A browser's compound: RR, SDES (skipped as other), REMB (206 FMT 15: other), then BYE; one padded packet.
    func testCompoundWithUnknownKindsAndPadding() throws {
        var buffer = ByteBuffer()
        RTCPPacket.receiverReport(RTCPReceiverReport(ssrc: 7, reports: [block])).write(into: &buffer)
        buffer.writeBytes([0x81, 202, 0, 2, 0, 0, 0, 7, 1, 0, 0, 0]) // SDES, one empty chunk
        buffer.writeBytes([0x8F, 206, 0, 2, 0, 0, 0, 7, 0, 0, 0, 0]) // REMB-shaped
        buffer.writeBytes([0xA1, 203, 0, 2, 0, 0, 0, 7, 0, 0, 0, 4]) // BYE with 4 bytes of padding
        let packets = try RTCPPacket.parseCompound(buffer)
        XCTAssertEqual(packets, [.receiverReport(RTCPReceiverReport(ssrc: 7, reports: [block])), .other(packetType: 202),
                                 .other(packetType: 206), .bye([7])])
        var rewritten = ByteBuffer()
        RTCPPacket.writeCompound(packets, into: &rewritten)
        XCTAssertEqual(try RTCPPacket.parseCompound(rewritten), [.receiverReport(RTCPReceiverReport(ssrc: 7, reports: [block])), .bye([7])])
    }

    func testMalformedCompoundsThrow() {
        let cases: [(String, String)] = [
            ("empty", ""),
            ("short", "80 c8 00"),
            ("version 1", "40 c9 00 01 00 00 00 01"),
            ("length past end", "80 c9 00 05 00 00 00 01"),
            ("blocks not there", "81 c9 00 01 00 00 00 01"),
            ("sender report cut", "80 c8 00 02 00 00 00 01 00 00 00 00"),
            ("bye count too big", "82 cb 00 01 00 00 00 01"),
            ("padding too big", "a0 c9 00 01 00 00 00 09"),
            ("feedback cut", "81 cd 00 01 00 00 00 01"),
        ]
        for (name, hex) in cases {
            XCTAssertThrowsError(try RTCPPacket.parseCompound(ByteBuffer(hex: hex)), name)
        }
        var many = ByteBuffer()
        for _ in 0...RTCPPacket.maxPackets { RTCPPacket.pli(senderSSRC: 1, mediaSSRC: 2).write(into: &many) }
        XCTAssertThrowsError(try RTCPPacket.parseCompound(many))
    }

    func testReceiveStatisticsLossAndJitter() {
        var statistics = ReceiveStatistics()
        // 65530 … 65535, 0 … 9 with 2 and 5 missing: 16 expected, 14 received, across a wrap.
        var sequences = Array(65530...65535).map(UInt16.init) + (0...9).map(UInt16.init)
        sequences.removeAll { $0 == 2 || $0 == 5 }
        for (index, sequence) in sequences.enumerated() {
            statistics.received(sequence: sequence, rtpTimestamp: UInt32(index) * 3000, arrivalRTPUnits: UInt32(index) * 3000 + 500)
        }
        var block = statistics.reportBlock(ssrc: 42, lastSR: 0, delaySinceLastSR: 0)
        XCTAssertEqual(block.cumulativeLost, 2)
        XCTAssertEqual(block.highestSequence, 0x0001_0009)
        XCTAssertEqual(block.fractionLost, UInt8(2 * 256 / 16))
        XCTAssertEqual(block.jitter, 0, "constant transit: no jitter")
        XCTAssertEqual(statistics.packetsReceived, 14)
        // Next interval: 10 … 19 all there, arriving ±1600 units off their timestamps.
        for sequence in 10..<20 {
            let skew: UInt32 = sequence % 2 == 0 ? 0 : 1600
            statistics.received(sequence: UInt16(sequence), rtpTimestamp: UInt32(sequence) * 3000,
                                arrivalRTPUnits: UInt32(sequence) * 3000 + skew)
        }
        block = statistics.reportBlock(ssrc: 42, lastSR: 7, delaySinceLastSR: 8)
        XCTAssertEqual(block.fractionLost, 0)
        XCTAssertEqual(block.cumulativeLost, 2)
        XCTAssertEqual(block.lastSR, 7)
        XCTAssertGreaterThan(block.jitter, 400)
        XCTAssertLessThan(block.jitter, 1600)
    }

    func testReceiveStatisticsRestartNeedsTwoInARow() {
        var statistics = ReceiveStatistics()
        for sequence: UInt16 in 1...10 { statistics.received(sequence: sequence, rtpTimestamp: 0, arrivalRTPUnits: 0) }
        statistics.received(sequence: 30000, rtpTimestamp: 0, arrivalRTPUnits: 0)
        XCTAssertEqual(statistics.packetsReceived, 10, "a lone jump is not counted")
        statistics.received(sequence: 30001, rtpTimestamp: 0, arrivalRTPUnits: 0)
        XCTAssertEqual(statistics.packetsReceived, 1, "confirmed: a restart")
        XCTAssertEqual(statistics.packetsLost, 0)
    }
}
