import NIOCore
import XCTest
@testable import RTC

final class STUNMessageTests: XCTestCase {
    /// RFC 5769 §2.1-2.3 share this password (short-term credential).
    let password = Array("VOkJxbRl1RmTxUk/WvJxBt".utf8)
    let transactionID: [UInt8] = [0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae]

    /// RFC 5769 §2.1 sample request.
    let sampleRequest = ByteBuffer(hex: """
        00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
        00 24 00 04 6e 00 01 ff
        80 29 00 08 93 2f f9 b1 51 26 3b 36
        00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
        00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
        80 28 00 04 e5 7a 3b cf
        """)

    /// RFC 5769 §2.2 sample IPv4 response: 192.0.2.1:32853.
    let sampleIPv4Response = ByteBuffer(hex: """
        01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
        00 20 00 08 00 01 a1 47 e1 12 a6 43
        00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
        80 28 00 04 c0 7d 4c 96
        """)

    /// RFC 5769 §2.3 sample IPv6 response: [2001:db8:1234:5678:11:2233:4455:6677]:32853.
    let sampleIPv6Response = ByteBuffer(hex: """
        01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
        00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
        00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
        80 28 00 04 c8 fb 0b 4c
        """)

    func testSampleRequestParsesAndVerifies() throws {
        let message = try STUNMessage(parsing: sampleRequest)
        XCTAssertEqual(message.method, STUNMessage.Method.binding.rawValue)
        XCTAssertEqual(message.messageClass, .request)
        XCTAssertEqual(message.transactionID, transactionID)
        XCTAssertEqual(message.username, "evtj:h6vY")
        XCTAssertEqual(message.priority, 0x6e00_01ff)
        XCTAssertEqual(message.iceControlled, 0x932f_f9b1_5126_3b36)
        XCTAssertNil(message.iceControlling)
        XCTAssertFalse(message.useCandidate)
        XCTAssertTrue(STUNMessage.verify(sampleRequest, integrityKey: password))
        XCTAssertFalse(STUNMessage.verify(sampleRequest, integrityKey: Array("wrong".utf8)))
    }

    func testSampleResponsesGiveTheirMappedAddresses() throws {
        let v4 = try STUNMessage(parsing: sampleIPv4Response)
        XCTAssertEqual(v4.messageClass, .successResponse)
        XCTAssertEqual(v4.xorMappedAddress, try SocketAddress(ipAddress: "192.0.2.1", port: 32853))
        XCTAssertTrue(STUNMessage.verify(sampleIPv4Response, integrityKey: password))
        let v6 = try STUNMessage(parsing: sampleIPv6Response)
        XCTAssertEqual(v6.xorMappedAddress, try SocketAddress(ipAddress: "2001:db8:1234:5678:11:2233:4455:6677", port: 32853))
        XCTAssertTrue(STUNMessage.verify(sampleIPv6Response, integrityKey: password))
    }

    /// The writer's pieces against the RFC's responses: the XOR-MAPPED-ADDRESS value, the
    /// HMAC-SHA1 over the message before MESSAGE-INTEGRITY, the CRC before FINGERPRINT.
    func testWriterPiecesMatchTheSampleResponses() throws {
        let samples = [(sampleIPv4Response, "192.0.2.1", 36), (sampleIPv6Response, "2001:db8:1234:5678:11:2233:4455:6677", 36)]
        for (sample, address, addressOffset) in samples {
            let mapped = try SocketAddress(ipAddress: address, port: 32853)
            let value = STUNMessage.xorMappedAddressValue(mapped, transactionID: transactionID) ?? []
            XCTAssertEqual(value, sample.getBytes(at: addressOffset + 4, length: value.count))
            let integrityOffset = sample.readableBytes - 32
            XCTAssertEqual(STUNMessage.messageIntegrity(sample, upTo: integrityOffset, key: password),
                           sample.getBytes(at: integrityOffset + 4, length: 20))
            let fingerprintOffset = sample.readableBytes - 8
            XCTAssertEqual(STUNMessage.fingerprint(sample, upTo: fingerprintOffset),
                           sample.getInteger(at: fingerprintOffset + 4, as: UInt32.self))
        }
    }

    func testBindingSuccessRoundTrip() throws {
        let id = Array(0..<12).map(UInt8.init)
        for address in ["203.0.113.7", "::1", "2001:db8::42"] {
            let mapped = try SocketAddress(ipAddress: address, port: 50_123)
            let raw = STUNMessage.bindingSuccess(transactionID: id, mapped: mapped, integrityKey: password)
            let message = try STUNMessage(parsing: raw)
            XCTAssertEqual(message.messageClass, .successResponse)
            XCTAssertEqual(message.method, 1)
            XCTAssertEqual(message.transactionID, id)
            XCTAssertEqual(message.xorMappedAddress, mapped)
            XCTAssertTrue(STUNMessage.verify(raw, integrityKey: password))
            XCTAssertEqual(message.attributes.map(\.type), [0x0020, 0x0008, 0x8028])
        }
    }

    func testBindingRequestRoundTrip() throws {
        let id = Array(repeating: UInt8(7), count: 12)
        let raw = STUNMessage.bindingRequest(transactionID: id, username: "remote:local", priority: 0x7E7F_00FF,
                                             controlling: 0x0102_0304_0506_0708, useCandidate: true, integrityKey: password)
        XCTAssertEqual(raw.getBytes(at: 0, length: 2), [0x00, 0x01])
        let message = try STUNMessage(parsing: raw)
        XCTAssertEqual(message.messageClass, .request)
        XCTAssertEqual(message.username, "remote:local")
        XCTAssertEqual(message.priority, 0x7E7F_00FF)
        XCTAssertEqual(message.iceControlling, 0x0102_0304_0506_0708)
        XCTAssertTrue(message.useCandidate)
        XCTAssertTrue(STUNMessage.verify(raw, integrityKey: password))
        let plain = STUNMessage.bindingRequest(transactionID: id, username: "a:b", priority: 1, controlling: nil,
                                               useCandidate: false, integrityKey: password)
        let parsed = try STUNMessage(parsing: plain)
        XCTAssertNil(parsed.iceControlling)
        XCTAssertFalse(parsed.useCandidate)
    }

    func testBindingErrorRoundTrip() throws {
        let id = Array(repeating: UInt8(3), count: 12)
        let raw = STUNMessage.bindingError(transactionID: id, code: 401, reason: "Unauthorized", integrityKey: nil)
        XCTAssertEqual(raw.getBytes(at: 0, length: 2), [0x01, 0x11])
        let message = try STUNMessage(parsing: raw)
        XCTAssertEqual(message.messageClass, .errorResponse)
        XCTAssertEqual(message.errorCode?.code, 401)
        XCTAssertEqual(message.errorCode?.reason, "Unauthorized")
        XCTAssertNil(message.attribute(STUNAttribute.Kind.messageIntegrity))
        XCTAssertFalse(STUNMessage.verify(raw, integrityKey: password), "no MESSAGE-INTEGRITY: not verified")
        let signed = STUNMessage.bindingError(transactionID: id, code: 487, reason: "Role Conflict", integrityKey: password)
        XCTAssertEqual(try STUNMessage(parsing: signed).errorCode?.code, 487)
        XCTAssertTrue(STUNMessage.verify(signed, integrityKey: password))
    }

    /// A message read from the middle of a bigger buffer (reader index past other bytes).
    func testMessageAfterOtherBytesInTheBuffer() throws {
        var buffer = ByteBuffer(bytes: [0xEE, 0xEE, 0xEE])
        buffer.writeImmutableBuffer(sampleRequest)
        buffer.moveReaderIndex(forwardBy: 3)
        XCTAssertEqual(try STUNMessage(parsing: buffer).username, "evtj:h6vY")
        XCTAssertTrue(STUNMessage.verify(buffer, integrityKey: password))
    }

    func testTamperedMessagesFailVerification() {
        for offset in [21, 30, 44, 70, 90] where offset < sampleRequest.readableBytes {
            var tampered = sampleRequest
            tampered.setInteger((tampered.getInteger(at: offset, as: UInt8.self) ?? 0) ^ 0x01, at: offset)
            XCTAssertFalse(STUNMessage.verify(tampered, integrityKey: password), "byte \(offset) flipped")
        }
        var badFingerprint = sampleRequest
        badFingerprint.setInteger(UInt8(0), at: badFingerprint.writerIndex - 1)
        XCTAssertFalse(STUNMessage.verify(badFingerprint, integrityKey: password))
    }

    func testMalformedMessagesThrow() {
        let cases: [(String, ByteBuffer)] = [
            ("short header", ByteBuffer(hex: "00 01 00 00 21 12")),
            ("bad cookie", ByteBuffer(hex: "00 01 00 00 21 12 a4 43 00 00 00 00 00 00 00 00 00 00 00 00")),
            ("top bits", ByteBuffer(hex: "c0 01 00 00 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00")),
            ("length past end", ByteBuffer(hex: "00 01 00 40 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00")),
            ("length not multiple of 4", ByteBuffer(hex: "00 01 00 02 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00 00 00")),
            ("attribute past end", ByteBuffer(hex: "00 01 00 08 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00 00 20 00 40 00 01 00 00")),
            ("padding past end", ByteBuffer(hex: "00 01 00 08 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00 00 06 00 05 61 62 63 64")),
        ]
        for (name, buffer) in cases {
            XCTAssertThrowsError(try STUNMessage(parsing: buffer), name)
            XCTAssertFalse(STUNMessage.verify(buffer, integrityKey: password), name)
        }
    }

    func testMessageTypeBitsInterleave() {
        XCTAssertEqual(STUNMessage.encode(method: 0x003, messageClass: .errorResponse), 0x0113)
        XCTAssertEqual(STUNMessage.encode(method: 0x009, messageClass: .successResponse), 0x0109)
        XCTAssertEqual(STUNMessage.encode(method: 0xFFF, messageClass: .indication), 0x3EFF)
        for method: UInt16 in [1, 0x80, 0xABC, 0xFFF] {
            for messageClass in [STUNMessage.Class.request, .indication, .successResponse, .errorResponse] {
                let decoded = STUNMessage.decode(type: STUNMessage.encode(method: method, messageClass: messageClass))
                XCTAssertEqual(decoded.method, method)
                XCTAssertEqual(decoded.messageClass, messageClass)
            }
        }
    }

    func testCRC32CheckValue() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
    }
}
