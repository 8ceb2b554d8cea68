import Events
import Foundation
import NIOCore
import Testing

@Suite struct SegmentCutterTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)
    static let header = MediaFrame(kind: .video, flags: [.keyframe, .sequenceHeader], codec: "avc1", dts: 0, sessionID: 1, sequence: 0,
                                   payload: ByteBuffer(bytes: [0x17, 0, 0, 0, 0, 1, 0x42, 0xC0, 0x1E]))

    static func video(_ dts: Int64, keyframe: Bool, size: Int = 100) -> MediaFrame {
        MediaFrame(kind: .video, flags: keyframe ? .keyframe : [], codec: "avc1", dts: dts, sessionID: 1, sequence: 0,
                   payload: ByteBuffer(bytes: [keyframe ? 0x17 : 0x27, 1, 0, 0, 0] + Array(repeating: 0, count: size)))
    }

    /// Stamps `frames` in order and returns, per frame, (segment, starts a segment).
    static func cut(_ frames: [MediaFrame], rules: SegmentCutter.Rules = .init(segmentSeconds: 2)) -> [(UInt32, Bool)] {
        var cutter = SegmentCutter(rules: rules)
        return frames.map { frame in
            var stamped = frame
            cutter.stamp(&stamped, arrivedAt: start.addingTimeInterval(Double(frame.dts) / 1000))
            return (stamped.timeline!.segment, stamped.startsSegment)
        }
    }

    @Test func segmentsStartAtTheFirstKeyframePastTheTarget() {
        // A keyframe every second at 25 fps: segments open at 0, 2, 4 s.
        let frames = [Self.header] + (0..<150).map { Self.video(Int64($0 * 40), keyframe: $0 % 25 == 0) }
        let stamps = Self.cut(frames)
        let starts = stamps.indices.filter { stamps[$0].1 }.map { frames[$0].dts }
        #expect(starts == [0, 2000, 4000])
        let base = UInt32((1_800_000_000_000 - 1_767_225_600_000) / 250)
        #expect(stamps.first?.0 == base && stamps.last?.0 == base + 2)
    }

    @Test func aSegmentThatFillsItsByteBoundEndsAtTheNextFrame() {
        let rules = SegmentCutter.Rules(segmentSeconds: 60, maxSegmentBytes: 1 << 16)
        let frames = [Self.header] + (0..<40).map { Self.video(Int64($0 * 40), keyframe: $0 == 0, size: 4000) }
        let stamps = Self.cut(frames, rules: rules)
        let starts = stamps.indices.filter { stamps[$0].1 }
        #expect(starts.count == 3, "one keyframe start and two forced by 64 KiB at ~4.3 KB a frame")
        #expect(starts.dropFirst().allSatisfy { !frames[$0].isKeyframe })
    }

    @Test func aNewConfigurationEndsTheSegmentWithADiscontinuityAndANewEpoch() {
        var cutter = SegmentCutter(rules: .init(segmentSeconds: 2))
        var frames = [Self.header, Self.video(0, keyframe: true), Self.video(40, keyframe: false)]
        var changed = Self.header
        changed.payload = ByteBuffer(bytes: [0x17, 0, 0, 0, 0, 1, 0x64, 0x00, 0x1F])
        changed.dts = 80
        frames += [changed, Self.video(80, keyframe: true), Self.video(120, keyframe: false)]
        let stamped = frames.map { frame -> MediaFrame in
            var copy = frame
            cutter.stamp(&copy, arrivedAt: Self.start)
            return copy
        }
        #expect(stamped[4].startsSegment && stamped[4].timeline!.segment == stamped[1].timeline!.segment + 1)
        #expect(stamped[4].timeline!.epoch == 1 && stamped[4].timeline!.discontinuity == stamped[1].timeline!.discontinuity + 1)
        #expect(stamped[4].timeline!.periodStart == 80 && stamped[1].timeline!.periodStart == 0)
    }

    @Test func hostileClocksAndTimesStayInRange() {
        var cutter = SegmentCutter(rules: .init(segmentSeconds: .nan, maxSegmentBytes: -1, maxStalledFrames: -5))
        var frame = Self.video(MediaFrame.timeRange.lowerBound, keyframe: true)
        cutter.stamp(&frame, arrivedAt: Date(timeIntervalSince1970: 1e300))
        #expect(MediaTimeline.originRange.contains(frame.timeline!.origin))
        var later = Self.video(MediaFrame.timeRange.upperBound, keyframe: true)
        cutter.stamp(&later, arrivedAt: Date(timeIntervalSince1970: -1e300))
        #expect(later.timeline!.origin == frame.timeline!.origin, "the origin is fixed once per session")
    }
}
