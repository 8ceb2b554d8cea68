import Foundation
import NIOCore
import XCTest
@testable import RTC

/// The fuzz seeds (Fuzz/Corpus/{stun,rtp,rtcp,h264-rtp}) were written by a Python script with
/// its own HMAC-SHA1 and CRC-32 (hmac, zlib): they must parse, and the STUN ones verify.
final class CorpusSeedTests: XCTestCase {
    func seeds(_ target: String) throws -> [(String, ByteBuffer)] {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fuzz/Corpus/\(target)")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        XCTAssertFalse(names.isEmpty)
        return try names.map { ($0, ByteBuffer(bytes: try Data(contentsOf: folder.appendingPathComponent($0)))) }
    }

    func testSTUNSeedsParseAndVerify() throws {
        for (name, buffer) in try seeds("stun") {
            let message = try STUNMessage(parsing: buffer)
            XCTAssertEqual(STUNMessage.verify(buffer, integrityKey: Array("fuzz-password".utf8)), !name.contains("error"), name)
            if name.contains("ipv6") {
                XCTAssertEqual(message.xorMappedAddress, try SocketAddress(ipAddress: "2001:db8::1", port: 443))
            }
        }
    }

    func testRTPAndRTCPSeedsParse() throws {
        for (name, buffer) in try seeds("rtp") {
            XCTAssertNoThrow(try RTPPacket(parsing: buffer), name)
        }
        for (name, buffer) in try seeds("rtcp") {
            let packets = try RTCPPacket.parseCompound(buffer)
            XCTAssertGreaterThanOrEqual(packets.count, 2, name)
        }
    }

    func testH264SeedsMakeAccessUnits() throws {
        for (name, buffer) in try seeds("h264-rtp") {
            var rest = buffer
            var depacketizer = H264Depacketizer()
            var sequence: UInt64 = 1 << 16
            var timestamp: UInt32 = 0
            var units = 0
            while let control = rest.readInteger(as: UInt8.self), let length = rest.readInteger(as: UInt16.self),
                  let payload = rest.readSlice(length: Int(length)) {
                sequence += control & 2 != 0 ? 2 : 1
                if control & 4 != 0 { timestamp &+= 3000 }
                if depacketizer.push(payload, sequence: sequence, timestamp: timestamp, marker: control & 1 != 0) != nil { units += 1 }
            }
            XCTAssertGreaterThanOrEqual(units, name.hasPrefix("loss") ? 2 : 1, name)
        }
    }
}
