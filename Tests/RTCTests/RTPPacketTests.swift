import NIOCore
import XCTest
@testable import RTC

final class RTPPacketTests: XCTestCase {
    func testWriteThenParse() throws {
        var buffer = ByteBuffer()
        RTPPacket.write(marker: true, payloadType: 102, sequenceNumber: 65535, timestamp: 0xDEAD_BEEF, ssrc: 0x1234_5678,
                        payload: ByteBuffer(bytes: [1, 2, 3]), into: &buffer)
        XCTAssertEqual(buffer.bytes, [0x80, 0xE6, 0xFF, 0xFF, 0xDE, 0xAD, 0xBE, 0xEF, 0x12, 0x34, 0x56, 0x78, 1, 2, 3])
        let packet = try RTPPacket(parsing: buffer)
        XCTAssertTrue(packet.header.marker)
        XCTAssertEqual(packet.header.payloadType, 102)
        XCTAssertEqual(packet.header.sequenceNumber, 65535)
        XCTAssertEqual(packet.header.timestamp, 0xDEAD_BEEF)
        XCTAssertEqual(packet.header.ssrc, 0x1234_5678)
        XCTAssertEqual(packet.header.headerLength, 12)
        XCTAssertEqual(packet.payload.bytes, [1, 2, 3])
    }

    /// Two CSRCs, a one-byte-header extension (RFC 8285) of one word, 3 bytes of padding.
    func testCSRCsExtensionAndPadding() throws {
        let buffer = ByteBuffer(hex: """
            b2 6f 00 2a 00 00 03 e8 00 00 00 01
            00 00 00 0a 00 00 00 0b
            be de 00 01 10 ab 00 00
            aa bb cc 00 00 03
            """)
        let packet = try RTPPacket(parsing: buffer)
        XCTAssertFalse(packet.header.marker)
        XCTAssertEqual(packet.header.payloadType, 111)
        XCTAssertEqual(packet.header.sequenceNumber, 42)
        XCTAssertEqual(packet.header.csrcCount, 2)
        XCTAssertEqual(packet.header.csrc(at: 1, in: buffer), 0x0b)
        XCTAssertNil(packet.header.csrc(at: 2, in: buffer))
        XCTAssertTrue(packet.header.hasExtension)
        XCTAssertEqual(packet.header.extensionProfile, 0xBEDE)
        XCTAssertEqual(packet.header.extensionData(in: buffer)?.bytes, [0x10, 0xAB, 0, 0])
        XCTAssertEqual(packet.header.headerLength, 28)
        XCTAssertEqual(packet.header.paddingLength, 3)
        XCTAssertEqual(packet.payload.bytes, [0xAA, 0xBB, 0xCC])
    }

    func testPacketAfterOtherBytesInTheBuffer() throws {
        var buffer = ByteBuffer(bytes: [9, 9])
        RTPPacket.write(marker: false, payloadType: 111, sequenceNumber: 3, timestamp: 4, ssrc: 5,
                        payload: ByteBuffer(bytes: [1, 2, 3, 4]), into: &buffer)
        buffer.moveReaderIndex(forwardBy: 2)
        let packet = try RTPPacket(parsing: buffer)
        XCTAssertEqual(packet.header.sequenceNumber, 3)
        XCTAssertEqual(packet.payload.bytes, [1, 2, 3, 4])
        XCTAssertEqual(PacketClass(firstBytes: buffer), .rtp)
    }

    func testMalformedHeadersThrow() {
        let cases: [(String, String)] = [
            ("short", "80 60 00 01 00 00 00 01 00 00 00"),
            ("version 1", "40 60 00 01 00 00 00 01 00 00 00 01"),
            ("CSRCs past end", "8f 60 00 01 00 00 00 01 00 00 00 01 00 00 00 01"),
            ("extension header cut", "90 60 00 01 00 00 00 01 00 00 00 01 be de"),
            ("extension past end", "90 60 00 01 00 00 00 01 00 00 00 01 be de 00 04 00 00 00 00"),
            ("padding zero", "a0 60 00 01 00 00 00 01 00 00 00 01 aa 00"),
            ("padding past payload", "a0 60 00 01 00 00 00 01 00 00 00 01 aa 05"),
        ]
        for (name, hex) in cases {
            XCTAssertThrowsError(try RTPPacket(parsing: ByteBuffer(hex: hex)), name)
        }
    }

    func testRewritesKeepTheRest() throws {
        var buffer = ByteBuffer()
        RTPPacket.write(marker: true, payloadType: 96, sequenceNumber: 7, timestamp: 9, ssrc: 1, payload: ByteBuffer(bytes: [5]), into: &buffer)
        RTPPacket.setPayloadType(102, in: &buffer)
        RTPPacket.setSequenceNumber(8, in: &buffer)
        RTPPacket.setSSRC(0xABCD, in: &buffer)
        let packet = try RTPPacket(parsing: buffer)
        XCTAssertTrue(packet.header.marker)
        XCTAssertEqual(packet.header.payloadType, 102)
        XCTAssertEqual(packet.header.sequenceNumber, 8)
        XCTAssertEqual(packet.header.ssrc, 0xABCD)
        XCTAssertEqual(packet.payload.bytes, [5])
    }

    func testPacketClassDemux() {
        let cases: [([UInt8], PacketClass)] = [
            ([0x00, 0x01], .stun), ([0x03], .stun), ([0x16, 0xFE], .dtls), ([63, 0], .dtls),
            ([0x80, 0x60], .rtp), ([0x80, 0xE6], .rtp), ([0x80, 200], .rtcp), ([0x81, 205], .rtcp), ([0x80, 223], .rtcp),
            ([0x80, 224], .rtp), ([0x80], .unknown), ([], .unknown), ([4, 0], .unknown), ([64, 0], .unknown), ([192, 0], .unknown),
        ]
        for (bytes, expected) in cases {
            XCTAssertEqual(PacketClass(firstBytes: ByteBuffer(bytes: bytes)), expected, "\(bytes)")
        }
    }

    func testNTPTime() {
        XCTAssertEqual(NTPTime.from(unixNanoseconds: 0), 2_208_988_800 << 32)
        let ntp = NTPTime.from(unixNanoseconds: 1_500_000_000)
        XCTAssertEqual(ntp >> 32, 2_208_988_801)
        XCTAssertEqual(ntp & 0xFFFF_FFFF, 1 << 31)
        XCTAssertEqual(NTPTime.middle32(ntp), UInt32((2_208_988_801 & 0xFFFF) << 16 | 0x8000))
        XCTAssertEqual(NTPTime.unixNanoseconds(ntp), 1_500_000_000)
    }

    func testSequenceUnwrapper() {
        var unwrapper = SequenceUnwrapper()
        let first = unwrapper.unwrap(65534)
        XCTAssertEqual(unwrapper.unwrap(65535), first + 1)
        XCTAssertEqual(unwrapper.unwrap(0), first + 2)
        XCTAssertEqual(unwrapper.unwrap(65533), first - 1, "late packet from before the wrap")
        XCTAssertEqual(unwrapper.unwrap(1), first + 3)
        var walker = SequenceUnwrapper()
        let start = walker.unwrap(100)
        for step in 1...200_000 {
            XCTAssertEqual(walker.unwrap(UInt16(truncatingIfNeeded: 100 + step)), start + UInt64(step))
        }
    }

    func testAVCCSplit() throws {
        let buffer = ByteBuffer(bytes: [0, 0, 0, 2, 0x65, 0xAA, 0, 0, 0, 0, 0, 0, 0, 1, 0x41])
        XCTAssertEqual(try AVCCNALUnits.split(buffer, lengthSize: 4).map(\.bytes), [[0x65, 0xAA], [0x41]])
        XCTAssertEqual(try AVCCNALUnits.split(ByteBuffer(bytes: [1, 9, 2, 0x67, 1]), lengthSize: 1).map(\.bytes), [[9], [0x67, 1]])
        XCTAssertEqual(try AVCCNALUnits.split(ByteBuffer(bytes: [0, 1, 6]), lengthSize: 2).map(\.bytes), [[6]])
        XCTAssertThrowsError(try AVCCNALUnits.split(buffer, lengthSize: 3))
        XCTAssertThrowsError(try AVCCNALUnits.split(ByteBuffer(bytes: [0, 0, 0, 9, 1]), lengthSize: 4))
        XCTAssertThrowsError(try AVCCNALUnits.split(ByteBuffer(bytes: [0, 0, 0]), lengthSize: 4))
        XCTAssertThrowsError(try AVCCNALUnits.split(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 1]), lengthSize: 4))
    }
}
