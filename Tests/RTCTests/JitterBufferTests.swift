import NIOCore
import XCTest
@testable import RTC

final class JitterBufferTests: XCTestCase {
    func testReordersAndRefusesDuplicates() {
        var buffer = JitterBuffer<String>(capacity: 16, maxWaitMs: 100)
        XCTAssertTrue(buffer.insert("a", sequence: 10, arrivalMs: 0))
        XCTAssertTrue(buffer.insert("c", sequence: 12, arrivalMs: 1))
        XCTAssertEqual(buffer.pop(nowMs: 2).map(\.element), ["a"])
        XCTAssertTrue(buffer.insert("b", sequence: 11, arrivalMs: 3))
        XCTAssertFalse(buffer.insert("b", sequence: 11, arrivalMs: 3), "duplicate")
        XCTAssertEqual(buffer.pop(nowMs: 4).map(\.sequence), [11, 12])
        XCTAssertFalse(buffer.insert("old", sequence: 11, arrivalMs: 5), "already delivered")
        XCTAssertEqual(buffer.count, 0)
    }

    func testAcrossTheSixteenBitWrap() {
        var unwrapper = SequenceUnwrapper()
        var buffer = JitterBuffer<UInt16>(capacity: 64, maxWaitMs: 100)
        for sequence: UInt16 in [65533, 65535, 0, 65534, 2, 1] {
            XCTAssertTrue(buffer.insert(sequence, sequence: unwrapper.unwrap(sequence), arrivalMs: 0))
        }
        XCTAssertEqual(buffer.pop(nowMs: 0).map(\.element), [65533, 65534, 65535, 0, 1, 2])
    }

    func testGapSkippedAfterMaxWait() {
        var buffer = JitterBuffer<Int>(capacity: 32, maxWaitMs: 150)
        _ = buffer.insert(1, sequence: 1, arrivalMs: 0)
        _ = buffer.insert(4, sequence: 4, arrivalMs: 10)
        XCTAssertEqual(buffer.pop(nowMs: 10).map(\.element), [1])
        XCTAssertEqual(buffer.pop(nowMs: 159).map(\.element), [], "still waiting for 2 and 3")
        XCTAssertEqual(buffer.pop(nowMs: 160).map(\.element), [4], "2 and 3 skipped")
        XCTAssertFalse(buffer.insert(2, sequence: 2, arrivalMs: 170), "too late")
        XCTAssertEqual(buffer.nextSequence, 5)
    }

    func testMissingIsNackedThreeTimesTwentyMillisecondsApart() {
        var buffer = JitterBuffer<Int>(capacity: 32, maxWaitMs: 1000)
        _ = buffer.insert(0, sequence: 65535, arrivalMs: 0)
        _ = buffer.insert(3, sequence: 65538, arrivalMs: 0)
        XCTAssertEqual(buffer.missing(nowMs: 0), [0, 1])
        XCTAssertEqual(buffer.missing(nowMs: 19), [])
        XCTAssertEqual(buffer.missing(nowMs: 20), [0, 1])
        _ = buffer.insert(1, sequence: 65536, arrivalMs: 25)
        XCTAssertEqual(buffer.missing(nowMs: 40), [1])
        XCTAssertEqual(buffer.missing(nowMs: 60), [], "three NACKs already")
        XCTAssertEqual(buffer.missing(nowMs: 500), [])
    }

    func testTooFarAheadIsRefusedWhileHoldingAndRestartsWhenEmpty() {
        var buffer = JitterBuffer<Int>(capacity: 8, maxWaitMs: 50)
        XCTAssertTrue(buffer.insert(0, sequence: 100, arrivalMs: 0))
        XCTAssertFalse(buffer.insert(1, sequence: 108, arrivalMs: 0))
        XCTAssertTrue(buffer.insert(1, sequence: 107, arrivalMs: 0))
        XCTAssertEqual(buffer.pop(nowMs: 0).map(\.sequence), [100])
        XCTAssertEqual(buffer.pop(nowMs: 50).map(\.sequence), [107])
        XCTAssertTrue(buffer.insert(2, sequence: 5000, arrivalMs: 60), "empty: a sender that jumped starts over")
        XCTAssertEqual(buffer.pop(nowMs: 60).map(\.sequence), [5000])
    }

    func testRetransmissionBufferWraps() {
        var buffer = RetransmissionBuffer(capacity: 1000)
        XCTAssertEqual(buffer.capacity, 1024)
        for step in 0..<2000 {
            let sequence = UInt16(truncatingIfNeeded: 65000 + step)
            buffer.store(ByteBuffer(bytes: [UInt8(truncatingIfNeeded: step)]), sequence: sequence)
        }
        let newest = UInt16(truncatingIfNeeded: 65000 + 1999)
        XCTAssertEqual(buffer.packet(sequence: newest)?.bytes, [UInt8(truncatingIfNeeded: 1999)])
        XCTAssertEqual(buffer.packet(sequence: newest &- 1023)?.bytes, [UInt8(truncatingIfNeeded: 1999 - 1023)])
        XCTAssertNil(buffer.packet(sequence: newest &- 1024), "overwritten")
        XCTAssertNil(buffer.packet(sequence: newest &+ 1), "never stored")
        buffer.removeAll()
        XCTAssertNil(buffer.packet(sequence: newest))
    }
}
