import NIOCore
import TestSupport
import XCTest
@testable import RTC

/// Seeded random, truncated and bit-flipped input through every parser: each must throw or
/// parse (and what parses must write back and parse again), never trap.
final class RandomInputTests: XCTestCase {
    /// Valid packets of every kind, to cut and flip.
    var seeds: [ByteBuffer] {
        var rtp = ByteBuffer()
        RTPPacket.write(marker: true, payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3,
                        payload: ByteBuffer(bytes: [0x7C, 0x85, 1, 2, 3]), into: &rtp)
        var rtcp = ByteBuffer()
        RTCPPacket.senderReport(RTCPSenderReport(ssrc: 1, ntpTime: 2, rtpTimestamp: 3, packetCount: 4, octetCount: 5, reports: [
            RTCPReportBlock(ssrc: 1, fractionLost: 2, cumulativeLost: 3, highestSequence: 4, jitter: 5, lastSR: 6, delaySinceLastSR: 7),
        ])).write(into: &rtcp)
        RTCPPacket.nack(RTCPNack(senderSSRC: 1, mediaSSRC: 2, lost: [1, 3, 9])).write(into: &rtcp)
        let stun = STUNMessage.bindingRequest(transactionID: Array(repeating: 1, count: 12), username: "a:b", priority: 9,
                                              controlling: 4, useCandidate: true, integrityKey: [1, 2, 3])
        return [rtp, rtcp, stun, ByteBuffer(bytes: [24, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xCE]), ByteBuffer(bytes: [0x7C, 0x45, 9, 9])]
    }

    func mutations(count: Int, seed: UInt64) -> [ByteBuffer] {
        var generator = SeededGenerator(seed: seed)
        var inputs: [ByteBuffer] = []
        let base = seeds
        for index in 0..<count {
            var bytes = Array(base[index % base.count].readableBytesView)
            switch index % 4 {
            case 0: bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &generator)))
            case 1:
                for _ in 0..<Int.random(in: 1...4, using: &generator) where !bytes.isEmpty {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] ^= UInt8(1 << Int.random(in: 0..<8, using: &generator))
                }
            case 2: bytes = (0..<Int.random(in: 0...200, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            default:
                let position = Int.random(in: 0...bytes.count, using: &generator)
                bytes.insert(contentsOf: [0xFF, 0xFF, 0, 0], at: position)
            }
            inputs.append(ByteBuffer(bytes: bytes))
        }
        return inputs
    }

    func testEveryParserThrowsOrParses() {
        var depacketizer = H264Depacketizer(maxAccessUnitBytes: 1 << 16)
        var parsed = 0
        for (index, input) in mutations(count: 20_000, seed: 0x5EED).enumerated() {
            _ = PacketClass(firstBytes: input)
            if let message = try? STUNMessage(parsing: input) {
                parsed += 1
                _ = (message.username, message.priority, message.xorMappedAddress, message.errorCode, message.iceControlling)
                XCTAssertNoThrow(try STUNMessage(parsing: message.serialized()))
            }
            _ = STUNMessage.verify(input, integrityKey: [1, 2, 3])
            if let packet = try? RTPPacket(parsing: input) {
                parsed += 1
                XCTAssertLessThanOrEqual(packet.payload.readableBytes, input.readableBytes)
            }
            if let packets = try? RTCPPacket.parseCompound(input) {
                parsed += 1
                var written = ByteBuffer()
                RTCPPacket.writeCompound(packets, into: &written)
                if written.readableBytes > 0 { XCTAssertNoThrow(try RTCPPacket.parseCompound(written)) }
            }
            for size in [1, 2, 4] { _ = try? AVCCNALUnits.split(input, lengthSize: size) }
            _ = depacketizer.push(input, sequence: UInt64(index / 3), timestamp: UInt32(index / 7), marker: index % 5 == 0)
            while depacketizer.nextReady() != nil {}
        }
        XCTAssertGreaterThan(parsed, 1000, "the mutations keep enough valid packets to exercise the writers")
    }
}
