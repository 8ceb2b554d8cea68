import Events
import Testing
@testable import Ingest

/// RTMP's 32-bit millisecond timestamps become one monotonic 64-bit time line (RTMP
/// specification 1.0 §5.3.1.3): each value is read as the one congruent to it nearest the newest.
@Suite struct TimestampUnwrapperTests {
    static let period: Int64 = 1 << 32

    @Test func theFirstTimestampIsTakenAsItIs() {
        var unwrapper = TimestampUnwrapper()
        #expect(unwrapper.unwrap(123_456) == 123_456)
        #expect(unwrapper.unwrap(123_496) == 123_496)
    }

    /// B-frames and interleaved audio arrive a little behind the newest frame: they stay where
    /// they are, and do not drag the time line back for the frames after them.
    @Test func smallBackwardStepsStayBehindWithoutMovingTheTimeLine() {
        var unwrapper = TimestampUnwrapper()
        #expect(unwrapper.unwrap(1_000) == 1_000)
        #expect(unwrapper.unwrap(960) == 960)
        #expect(unwrapper.unwrap(920) == 920)
        #expect(unwrapper.unwrap(1_040) == 1_040)
    }

    /// A stream that runs for several periods (about 49.7 days each) keeps counting up.
    @Test func severalWrapsKeepCounting() {
        var unwrapper = TimestampUnwrapper()
        let start: Int64 = 4_000_000_000
        let step: Int64 = 1 << 30
        for index in 0..<13 {
            let expected = start + Int64(index) * step
            #expect(unwrapper.unwrap(UInt32(truncatingIfNeeded: expected)) == expected, "step \(index)")
        }
        // Three periods later, a frame just before the newest still lands just before it.
        let newest = start + 12 * step
        #expect(newest > 3 * Self.period)
        #expect(unwrapper.unwrap(UInt32(truncatingIfNeeded: newest - 25)) == newest - 25)
    }

    /// Just after a wrap, a late frame from before it is read back in the previous period, and
    /// a late frame before the very first one goes below zero rather than 49 days ahead.
    @Test func lateFramesAcrossAWrapGoBackward() {
        var wrapped = TimestampUnwrapper()
        #expect(wrapped.unwrap(3) == 3)
        #expect(wrapped.unwrap(UInt32.max) == -1)
        #expect(wrapped.unwrap(UInt32.max - 39) == -40)
        #expect(wrapped.unwrap(43) == 43)
    }

    /// A timestamp that jumps forward by just under half a period is a jump, not a late frame.
    @Test func jumpsUnderHalfAPeriodGoForward() {
        var unwrapper = TimestampUnwrapper()
        let half = UInt32(1) << 31
        #expect(unwrapper.unwrap(10) == 10)
        #expect(unwrapper.unwrap(10 + half - 1) == 10 + Int64(half) - 1)
        // From there, the original 10 is more than half a period back once more than half a
        // period has passed: it reads as the next period's.
        #expect(unwrapper.unwrap(half + 20) == Int64(half) + 20)
        #expect(unwrapper.unwrap(10) == Self.period + 10)
    }
}
