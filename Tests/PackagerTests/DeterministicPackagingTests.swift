import Events
import Foundation
import Media
import NIOCore
@testable import Packager
import Testing

/// Two nodes package the same stamped log; one started reading it later. Whatever both have,
/// they write with the same bytes, and blocking requests get the same answers.
@Suite struct DeterministicPackagingTests {
    static let published = Date(timeIntervalSince1970: 1_800_000_000)

    /// A stream as ingest writes it: every frame stamped by one cutter (2 s segments, a keyframe
    /// every second, so only every other keyframe opens a segment).
    static func stampedLog(seconds: Double) -> [MediaFrame] {
        var stream = SyntheticStream()
        var cutter = SegmentCutter(rules: .init(segmentSeconds: 2))
        return stream.frames(seconds: seconds).map { frame in
            var stamped = frame
            cutter.stamp(&stamped, arrivedAt: published.addingTimeInterval(Double(frame.dts) / 1000))
            return stamped
        }
    }

    /// A late node: the session's headers, then the log from the `keyframe`-th keyframe on (not
    /// necessarily a segment start), arriving at a different time than the first node's frames.
    static func lateNode(_ log: [MediaFrame], fromKeyframe keyframe: Int, configuration: PackagingConfiguration) throws -> LiveTimeline {
        let headers = log.filter(\.isConfiguration)
        let keyframes = log.indices.filter { log[$0].kind == .video && log[$0].isKeyframe && !log[$0].isSequenceHeader }
        var timeline = LiveTimeline(configuration: configuration)
        try timeline.feed(headers + log[keyframes[keyframe]...], origin: published.addingTimeInterval(300))
        return timeline
    }

    @Test func aLateNodeWritesTheSameSegmentsPartsAndPlaylists() throws {
        let configuration = PackagingConfiguration(segmentSeconds: 2, listSize: 3)
        let log = Self.stampedLog(seconds: 40)
        var early = LiveTimeline(configuration: configuration)
        try early.feed(log)
        let late = try Self.lateNode(log, fromKeyframe: 7, configuration: configuration)

        let lateNumbers = Set(late.segments.filter(\.isComplete).map(\.mediaSequence))
        #expect(lateNumbers.count >= 14, "the late node has a shorter past, not none")
        // Numbers come from the clock the stream started at, not from 0 or from when a node joined.
        let newest = try #require(early.segments.last?.mediaSequence)
        #expect(newest == Int((1_800_000_000_000 - 1_767_225_600_000) / 250) + 19, "20 segments of 2 s, the first one numbered from the clock")
        for number in lateNumbers {
            let mine = try #require(early.segment(number)), theirs = try #require(late.segment(number))
            #expect(mine.ts == theirs.ts, "MPEG-TS segment \(number)")
            #expect(mine.programDate == theirs.programDate)
            for kind in TrackKind.allCases {
                #expect(mine.cmafBytes(kind) == theirs.cmafBytes(kind), "CMAF \(kind) segment \(number)")
                #expect(mine.parts[kind]?.map(\.bytes) == theirs.parts[kind]?.map(\.bytes), "\(kind) parts of \(number)")
            }
        }
        #expect(early.classicPlaylist().render() == late.classicPlaylist().render())
        #expect(early.dashManifest()?.render() == late.dashManifest()?.render())
        // A blocking request for a part both have: the playlist as it stood then, byte for byte.
        let target = try #require(lateNumbers.sorted().dropLast().last)
        for kind in TrackKind.allCases {
            for part in [0, 2] {
                let a = try #require(early.lowLatencyPlaylist(kind, skip: false, end: early.end(of: kind, answering: target, part: part)))
                let b = try #require(late.lowLatencyPlaylist(kind, skip: false, end: late.end(of: kind, answering: target, part: part)))
                #expect(a.render() == b.render(), "\(kind) playlist at \(target).\(part)")
                #expect(a.preloadHint?.hasSuffix("-\(target).\(part + 1).m4s") == true, "\(a.preloadHint ?? "")")
            }
        }
    }

    @Test func playlistsCarryTheCaptureTimeOfEverySegment() throws {
        var timeline = LiveTimeline(configuration: PackagingConfiguration(segmentSeconds: 2, listSize: 3))
        try timeline.feed(Self.stampedLog(seconds: 12))
        let text = timeline.classicPlaylist().render()
        // The last three complete segments start 4, 6 and 8 s after a stream published at
        // 2027-01-15T08:00:00Z (the one from 10 s is still open).
        #expect(text.contains("#EXT-X-PROGRAM-DATE-TIME:2027-01-15T08:00:06.000Z\n#EXTINF:2.000,"))
        #expect(text.contains("#EXT-X-PROGRAM-DATE-TIME:2027-01-15T08:00:08.000Z"))
        let manifest = try #require(timeline.dashManifest()).render()
        // The presentation starts at the session's media time 0; its period where its first segment does.
        #expect(manifest.contains(#"availabilityStartTime="2027-01-15T08:00:00.000Z""#))
        #expect(manifest.contains(#"<Period id="00000000000000ab" start="PT0S">"#))
        // Published when the newest complete segment (8–10 s) ended; the clock of the node plays no part.
        #expect(manifest.contains(#"publishTime="2027-01-15T08:00:10.000Z""#))
    }

    @Test func afterAGapInTheNumbersEveryTrackGoesOnInTheNewWindow() throws {
        // A rendition whose transcoder was replaced: the new one's segments are numbered past a gap.
        let log = Self.stampedLog(seconds: 20).map { frame -> MediaFrame in
            guard frame.dts >= 9000, var stamp = frame.timeline else { return frame }
            stamp.segment += 5
            var moved = frame
            moved.timeline = stamp
            return moved
        }
        var timeline = LiveTimeline(configuration: PackagingConfiguration(segmentSeconds: 2, listSize: 3))
        try timeline.feed(log)
        let complete = timeline.segments.filter(\.isComplete)
        let first = try #require(log.first?.timeline?.segment)
        #expect(complete.map(\.mediaSequence) == (5...8).map { Int(first) + $0 + 5 }, "the window after the gap")
        #expect(complete.allSatisfy { $0.isFinished(.audio) && $0.duration(.audio) > 1.9 }, "audio went on too")
        let playlist = try #require(timeline.lowLatencyPlaylist(.audio, skip: false))
        #expect(playlist.segments.count == 4 && playlist.mediaSequence == Int(first) + 10)
    }

    @Test func aRepublishGoesOnFromTheNotedNumbersWithOneDiscontinuity() throws {
        var first = SegmentCutter(rules: .init(segmentSeconds: 2))
        var stream = SyntheticStream()
        var log = stream.frames(seconds: 6.1).map { frame -> MediaFrame in
            var stamped = frame
            first.stamp(&stamped, arrivedAt: Self.published.addingTimeInterval(Double(frame.dts) / 1000))
            return stamped
        }
        // The next session is another publisher's (maybe on another ingest node), continuing from
        // what the first noted in session state.
        var second = SegmentCutter(rules: .init(segmentSeconds: 2), continuing: try #require(first.continuation))
        var again = SyntheticStream()
        again.sessionID = 0xCD
        log += again.frames(seconds: 6.1).map { frame -> MediaFrame in
            var stamped = frame
            second.stamp(&stamped, arrivedAt: Self.published.addingTimeInterval(60 + Double(frame.dts) / 1000))
            return stamped
        }
        var timeline = LiveTimeline(configuration: PackagingConfiguration(segmentSeconds: 2, listSize: 5))
        try timeline.feed(log)
        let playlist = timeline.classicPlaylist()
        let numbers = playlist.segments.map { Int($0.uri.split(separator: "-").last!.dropLast(3))! }
        #expect(numbers == Array(numbers[0]..<numbers[0] + 5), "one run of numbers across the republish: \(numbers)")
        #expect(playlist.segments.map(\.discontinuity) == [false, false, true, false, false])
    }

    @Test func aRepublishContinuesAboveThePreviousNumbersAfterADiscontinuity() throws {
        var cutter = SegmentCutter(rules: .init(segmentSeconds: 2))
        var first = SyntheticStream()
        var second = SyntheticStream()
        second.sessionID = 0xCD
        var frames: [MediaFrame] = []
        for frame in first.frames(seconds: 6) {
            var stamped = frame
            cutter.stamp(&stamped, arrivedAt: Self.published.addingTimeInterval(Double(frame.dts) / 1000))
            frames.append(stamped)
        }
        let firstNumbers = Set(frames.compactMap { $0.timeline?.segment })
        cutter.endSession()
        // The second session starts 0.5 s after the first ended, its own clock from 0 again.
        for frame in second.frames(seconds: 6) {
            var stamped = frame
            cutter.stamp(&stamped, arrivedAt: Self.published.addingTimeInterval(6.5 + Double(frame.dts) / 1000))
            frames.append(stamped)
        }
        let secondStamps = frames.filter { $0.sessionID == 0xCD }.compactMap(\.timeline)
        #expect(secondStamps.map(\.segment).min()! > firstNumbers.max()!)
        #expect(secondStamps.map(\.discontinuity).min()! > frames[0].timeline!.discontinuity)
        #expect(Set(secondStamps.map(\.origin)) == [1_800_000_006_500])
    }
}
