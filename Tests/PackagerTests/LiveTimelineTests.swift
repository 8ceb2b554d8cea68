import Events
import Foundation
import Media
import NIOCore
@testable import Packager
import TestSupport
import Testing

@Suite struct LiveTimelineTests {
    @Test func segmentsStartAtTheFirstKeyframePastTheTarget() throws {
        var timeline = LiveTimeline(configuration: PackagingConfiguration(segmentSeconds: 2, listSize: 6))
        var stream = SyntheticStream()
        try timeline.feed(stream.frames(seconds: 10.5))
        let complete = timeline.segments.filter(\.isComplete)
        #expect(complete.map(\.mediaSequence) == [0, 1, 2, 3, 4])
        for segment in complete {
            #expect(abs(segment.duration - 2) < 0.04, "segment \(segment.mediaSequence) lasts \(segment.duration) s")
            let parts = segment.parts[.video] ?? []
            #expect(parts.count == 4)
            #expect(parts.allSatisfy { $0.duration <= 0.501 })
            #expect(parts.map(\.isIndependent) == [true, false, true, false], "a keyframe every second")
            #expect(abs(parts.reduce(0) { $0 + $1.duration } - segment.duration) < 0.001)
            #expect(abs(segment.duration(.audio) - 2) < 0.05)
        }
        let playlist = timeline.classicPlaylist()
        #expect(playlist.targetDuration == 2 && playlist.mediaSequence == 0 && playlist.segments.count == 5)
        #expect(playlist.segments.first?.uri == "ts/00000000000000ab-0.ts")
    }

    @Test func tenSecondKeyframesMakeTenSecondSegmentsWithHalfSecondParts() throws {
        var timeline = LiveTimeline(configuration: PackagingConfiguration(segmentSeconds: 2))
        var stream = SyntheticStream()
        stream.gop = 300
        try timeline.feed(stream.frames(seconds: 31))
        let complete = timeline.segments.filter(\.isComplete)
        #expect(complete.count == 3)
        #expect(complete.allSatisfy { abs($0.duration - 10) < 0.04 })
        #expect(timeline.targetDuration == 10)
        let parts = try #require(complete.first?.parts[.video])
        #expect(parts.count == 20 && parts.allSatisfy { $0.duration <= 0.501 })
        #expect(parts.filter(\.isIndependent).count == 1)
        let text = try #require(timeline.lowLatencyPlaylist(.video, skip: false)).render()
        #expect(text.contains("#EXT-X-TARGETDURATION:10\n"))
        #expect(text.contains("CAN-SKIP-UNTIL=60"))
    }

    @Test func streamWithoutAudioHasNoAudioPlaylist() throws {
        var timeline = LiveTimeline(configuration: PackagingConfiguration())
        var stream = SyntheticStream()
        stream.hasAudio = false
        try timeline.feed(stream.frames(seconds: 5))
        #expect(timeline.lowLatencyPlaylist(.audio, skip: false) == nil)
        let master = try #require(timeline.multivariantPlaylist())
        #expect(master.audio.isEmpty && master.variants.first?.codecs == ["avc1.42c01e"])
        let ts = try #require(timeline.segments.first { $0.isComplete }?.ts)
        #expect(ts.readableBytes % 188 == 0 && ts.readableBytes > 0)
    }

    @Test func audioOnlyStreamIsCutOnAudio() throws {
        var timeline = LiveTimeline(configuration: PackagingConfiguration())
        var stream = SyntheticStream()
        stream.hasVideo = false
        try timeline.feed(stream.frames(seconds: 7))
        let complete = timeline.segments.filter(\.isComplete)
        #expect(complete.count == 3)
        #expect(complete.allSatisfy { abs($0.duration - 2) < 0.03 })
        #expect(complete.allSatisfy { ($0.parts[.audio] ?? []).allSatisfy { $0.duration <= 0.501 } })
        #expect(timeline.multivariantPlaylist()?.variants.first?.uri == "llhls-audio.m3u8")
    }

    @Test func republishContinuesNumberingAfterADiscontinuity() throws {
        var timeline = LiveTimeline(configuration: PackagingConfiguration(listSize: 3))
        var first = SyntheticStream()
        try timeline.feed(first.frames(seconds: 5.2))
        timeline.finish()
        var second = SyntheticStream()
        second.sessionID = 0xCD
        try timeline.feed(second.frames(seconds: 4.1))
        let playlist = timeline.classicPlaylist()
        #expect(playlist.segments.map(\.uri) == ["ts/00000000000000ab-2.ts", "ts/00000000000000cd-3.ts", "ts/00000000000000cd-4.ts"])
        #expect(playlist.segments.map(\.discontinuity) == [false, true, false])
        #expect(playlist.discontinuitySequence == 0)
        #expect(abs(playlist.segments[0].duration - 1.2) < 0.04, "the cut-short last segment of the first session")
        try timeline.feed(second.frames(seconds: 5, start: 4100, headers: false))
        #expect(timeline.classicPlaylist().discontinuitySequence == 1)
        let video = try #require(timeline.lowLatencyPlaylist(.video, skip: false)).render()
        #expect(video.contains("#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"cmaf/00000000000000cd/video-init.mp4\""))
    }

    @Test func aNewConfigurationMidStreamReinitialisesAfterADiscontinuity() throws {
        var timeline = LiveTimeline(configuration: PackagingConfiguration())
        var stream = SyntheticStream()
        try timeline.feed(stream.frames(seconds: 4.5))
        stream.pps = [0x68, 0xCE, 0x0F, 0xC9]
        // …and the audio stops: segments must not wait for it.
        stream.hasAudio = false
        try timeline.feed(stream.frames(seconds: 4.5, start: 4500))
        let video = try #require(timeline.lowLatencyPlaylist(.video, skip: false)).render()
        #expect(video.contains("#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"cmaf/00000000000000ab-1/video-init.mp4\""), "\(video)")
        let names = timeline.classicPlaylist().segments.map(\.uri)
        #expect(names.contains("ts/00000000000000ab-1-3.ts"), "\(names)")
        let periods = try #require(timeline.dashManifest()).periods
        #expect(periods.map(\.id) == ["00000000000000ab", "00000000000000ab-1"])
        #expect(periods[1].start > periods[0].start)
    }

    @Test func deltaUpdatesSkipOldSegmentsAndKeepTheirNumbering() throws {
        var timeline = LiveTimeline(configuration: PackagingConfiguration())
        var stream = SyntheticStream()
        try timeline.feed(stream.frames(seconds: 30.2))
        let full = try #require(timeline.lowLatencyPlaylist(.video, skip: false))
        let delta = try #require(timeline.lowLatencyPlaylist(.video, skip: true))
        #expect(full.skippedSegments == 0 && delta.skippedSegments > 0)
        #expect(delta.mediaSequence == full.mediaSequence)
        #expect(delta.skippedSegments + delta.segments.count == full.segments.count)
        #expect(delta.segments.first?.map != nil, "the first listed segment names its map")
        let skippedSeconds = full.segments.prefix(delta.skippedSegments).reduce(0) { $0 + $1.duration }
        let total = full.segments.reduce(0) { $0 + $1.duration } + full.pendingParts.reduce(0) { $0 + $1.duration }
        #expect(total - skippedSeconds + (full.segments[delta.skippedSegments].duration) > Double(6 * timeline.targetDuration))
    }

    @Test func sameFramesMakeTheSameNamesAndBytes() throws {
        var stream = SyntheticStream()
        let frames = stream.frames(seconds: 6.1)
        var one = LiveTimeline(configuration: PackagingConfiguration())
        var two = LiveTimeline(configuration: PackagingConfiguration())
        try one.feed(frames, origin: Date(timeIntervalSince1970: 1_800_000_000))
        try two.feed(frames, origin: Date(timeIntervalSince1970: 1_900_000_000))
        // Frames nobody stamped are dated by their arrival here; everything else is the same.
        var dated = two.classicPlaylist()
        dated.segments = dated.segments.map { segment in
            var shifted = segment
            shifted.programDate = segment.programDate.map { $0 - 100_000_000_000 }
            return shifted
        }
        #expect(one.classicPlaylist() == dated)
        #expect(one.lowLatencyPlaylist(.video, skip: false)?.segments.map(\.uri) == two.lowLatencyPlaylist(.video, skip: false)?.segments.map(\.uri))
        for segment in one.segments where segment.isComplete {
            let other = try #require(two.segment(segment.mediaSequence))
            #expect(segment.ts == other.ts)
            #expect(segment.cmafBytes(.video) == other.cmafBytes(.video))
            #expect(segment.cmafBytes(.audio) == other.cmafBytes(.audio))
        }
    }

    @Test func cmafSegmentsAreTheirPartsAndDecodeTimesRunOn() throws {
        var timeline = LiveTimeline(configuration: PackagingConfiguration())
        var stream = SyntheticStream()
        try timeline.feed(stream.frames(seconds: 6.1))
        var previousEnd: UInt64?
        for segment in timeline.segments where segment.isComplete {
            var joined = ByteBuffer()
            for part in segment.parts[.video] ?? [] { joined.writeImmutableBuffer(part.bytes) }
            #expect(segment.cmafBytes(.video) == joined)
            let start = try #require(segment.startTime[.video])
            if let previousEnd { #expect(start == previousEnd) }
            previousEnd = start + segment.ticks(.video)
        }
    }

    @Test func garbageFramesThrowOrArePackagedButNeverCrash() throws {
        var generator = SeededGenerator(seed: 5)
        var timeline = LiveTimeline(configuration: PackagingConfiguration())
        var stream = SyntheticStream()
        try timeline.feed(stream.frames(seconds: 1))
        for index in 0..<2000 {
            let length = Int.random(in: 0...40, using: &generator)
            let body = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let kind: MediaFrame.Kind = Bool.random(using: &generator) ? .video : .audio
            let flags: MediaFrame.Flags = Bool.random(using: &generator) ? .sequenceHeader : (Bool.random(using: &generator) ? .keyframe : [])
            let frame = MediaFrame(kind: kind, flags: flags, codec: kind == .video ? "avc1" : "aac", dts: 1000 + Int64(index) * 10,
                                   sessionID: 0xAB, sequence: UInt64(index), payload: ByteBuffer(bytes: body))
            try? timeline.append(frame, arrival: Date())
        }
        timeline.finish()
        #expect(timeline.segments.allSatisfy { $0.isComplete })
    }
}
