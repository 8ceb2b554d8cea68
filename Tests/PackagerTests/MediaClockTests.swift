@testable import Packager
import Testing

@Suite struct MediaClockTests {
    private func times(_ timestamps: [Int64]) -> [Int64] {
        var clock = MediaClock()
        return timestamps.map { clock.time(of: $0) }
    }

    @Test func wellBehavedTimestampsComeOutUnchanged() {
        let steady: [Int64] = [0, 33, 67, 100, 100, 133, 59_000, 118_000]
        #expect(times(steady) == steady)
        // Unwrapped RTMP time runs on past 2³² ms.
        let wrapped: [Int64] = [4_294_967_200, 4_294_967_295, 4_294_967_296 + 40, 4_294_967_296 + 80]
        #expect(times(wrapped) == wrapped)
    }

    @Test func stepsBackAndLeapsCountAsNoneAndLaterStepsContinue() {
        #expect(times([1000, 1033, 500, 533]) == [1000, 1033, 1033, 1066])
        #expect(times([1000, 1033, 1033 + (1 << 31), 1066 + (1 << 31)]) == [1000, 1033, 1033, 1066])
        #expect(times([1000, 1000, 1000]) == [1000, 1000, 1000])
    }

    @Test func anyInt64StaysInsideTheRange() {
        let hostile: [Int64] = [.min, .max, .min, 0, .max, -1, 1 << 62, .max - 1, .max]
        for time in times(hostile) { #expect((0...MediaClock.ceiling).contains(time)) }
        #expect(times([-5, 0, 10]) == [0, 5, 15])
        #expect(times([MediaClock.ceiling - 10, MediaClock.ceiling + 50]) == [MediaClock.ceiling - 10, MediaClock.ceiling])
    }

    @Test func compositionOffsetsAreClampedAndNeverOverflow() {
        #expect(MediaClock.compositionOffset(pts: 1066, dts: 1000) == 66)
        #expect(MediaClock.compositionOffset(pts: 900, dts: 1000) == -100)
        #expect(MediaClock.compositionOffset(pts: .max, dts: .min) == 0)
        #expect(MediaClock.compositionOffset(pts: 0, dts: 8_000_000) == -MediaClock.maxCompositionOffset)
    }

    @Test func ticksStayInside64BitsForAnyTimescale() {
        #expect(UInt64(milliseconds: 1500, timescale: 90_000) == 135_000)
        #expect(UInt64(milliseconds: 1001, timescale: 44_100) == 1001 * 44_100 / 1000)
        #expect(UInt64(milliseconds: MediaClock.ceiling, timescale: .max) > 0)
        #expect(UInt64(milliseconds: -7, timescale: 90_000) == 0)
    }
}
