import NIOCore
import XCTest
@testable import WebRTC

final class DTLSRecordTests: XCTestCase {
    /// A DTLS 1.2 record: the header fields, then `fragment`.
    private func record(type: UInt8 = 22, epoch: UInt16 = 0, sequence: UInt64 = 0, fragment: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [type, 0xFE, 0xFD, UInt8(epoch >> 8), UInt8(epoch & 0xFF)]
        bytes += (0..<6).reversed().map { UInt8((sequence >> (8 * UInt64($0))) & 0xFF) }
        bytes += [UInt8(fragment.count >> 8), UInt8(fragment.count & 0xFF)]
        return bytes + fragment
    }

    func testSplitsRecordsAndReadsHeaders() throws {
        let first = record(type: 22, epoch: 0, sequence: 5, fragment: [1, 2, 3])
        let second = record(type: 20, epoch: 1, sequence: 0x0102_0304_0506, fragment: [1])
        let third = record(type: 23, epoch: 1, sequence: 7, fragment: [])
        let records = try DTLSRecord.split(ByteBuffer(bytes: first + second + third))
        XCTAssertEqual(records.count, 3)
        XCTAssertEqual(records[0].contentType, 22)
        XCTAssertEqual(records[0].version, 0xFEFD)
        XCTAssertEqual(records[0].sequenceNumber, 5)
        XCTAssertEqual(records[0].fragmentLength, 3)
        XCTAssertEqual(Array(records[0].bytes.readableBytesView), first)
        XCTAssertEqual(records[1].epoch, 1)
        XCTAssertEqual(records[1].sequenceNumber, 0x0102_0304_0506)
        XCTAssertEqual(Array(records[1].bytes.readableBytesView), second)
        XCTAssertEqual(records[2].fragmentLength, 0)
        XCTAssertTrue(records.allSatisfy(\.isPlausible))
    }

    func testTruncatedRecordsThrow() {
        let whole = record(fragment: [1, 2, 3, 4])
        for cut in 1..<whole.count {
            XCTAssertThrowsError(try DTLSRecord.split(ByteBuffer(bytes: whole.prefix(cut))), "cut at \(cut)")
        }
        XCTAssertEqual(try DTLSRecord.split(ByteBuffer()).count, 0)
    }

    func testRecordLimit() throws {
        let many = (0..<5).flatMap { _ in record(fragment: []) }
        XCTAssertThrowsError(try DTLSRecord.split(ByteBuffer(bytes: many), limit: 4))
        XCTAssertEqual(try DTLSRecord.split(ByteBuffer(bytes: many), limit: 5).count, 5)
    }

    func testNotDTLSIsNotPlausible() throws {
        var bytes = record(fragment: [0])
        bytes[1] = 0x03   // TLS, not DTLS
        XCTAssertFalse(try XCTUnwrap(DTLSRecord.split(ByteBuffer(bytes: bytes)).first).isPlausible)
        bytes = record(type: 99, fragment: [0])
        XCTAssertFalse(try XCTUnwrap(DTLSRecord.split(ByteBuffer(bytes: bytes)).first).isPlausible)
    }

    func testPackKeepsOrderAndRecordsWholeWithinMTU() throws {
        let sizes = [100, 200, 700, 50, 1100, 30, 1500, 10]
        let records = try sizes.enumerated().flatMap { index, size in
            try DTLSRecord.split(ByteBuffer(bytes: record(sequence: UInt64(index), fragment: Array(repeating: UInt8(index), count: size))))
        }
        let datagrams = DTLSRecord.pack(records, mtu: 1200)
        var again: [DTLSRecord] = []
        for datagram in datagrams {
            let inside = try DTLSRecord.split(datagram)
            XCTAssertTrue(datagram.readableBytes <= 1200 || inside.count == 1, "an oversize record travels alone")
            again += inside
        }
        XCTAssertEqual(again, records)
        // 113+213+713+63 | 1113+43 | 1513 | 23
        XCTAssertEqual(datagrams.map(\.readableBytes), [1102, 1156, 1513, 23])
    }

    func testAdmissibleDropsShortProtectedRecordsAndCutTails() throws {
        let hello = record(epoch: 0, fragment: [1])
        let finished = record(epoch: 1, sequence: 1, fragment: Array(repeating: 9, count: 24))
        let forged = record(epoch: 1, sequence: 2, fragment: [1, 2, 3, 4])
        let whole = ByteBuffer(bytes: hello + finished)
        let same = DTLSRecord.admissible(whole)
        XCTAssertEqual(same, whole)
        XCTAssertEqual(Array(DTLSRecord.admissible(ByteBuffer(bytes: hello + forged + finished)).readableBytesView), hello + finished)
        XCTAssertEqual(Array(DTLSRecord.admissible(ByteBuffer(bytes: finished + hello.dropLast())).readableBytesView), finished)
        XCTAssertEqual(DTLSRecord.admissible(ByteBuffer(bytes: forged)).readableBytes, 0)
        XCTAssertEqual(DTLSRecord.admissible(ByteBuffer(bytes: [22, 0xFE])).readableBytes, 0)
    }

    func testPackOfNothingIsNothing() {
        XCTAssertEqual(DTLSRecord.pack([], mtu: 1200), [])
    }
}
