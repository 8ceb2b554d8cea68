import Foundation
import Media
@testable import Packager
import Testing

/// Playlists and MPDs over a DVR window (segments described by `DVREntry`, older ones as the
/// archive lists them) and start-over playlists; checked by golden text and by the PyPI `m3u8`
/// and `mpegdash` parsers.
@Suite struct DVRPlaylistTests {
    /// 2027-01-15T08:00:00Z.
    static let base: Int64 = 1_800_000_000_000

    static func entry(_ sequence: Int, at seconds: Double, duration: Double = 2, discontinuity: Int = 0,
                      session: String = "00000000000000ab") -> DVREntry {
        let times = DVREntry.TrackTimes(duration: duration, startTime: UInt64(seconds * 90000), ticks: UInt64(duration * 90000))
        return DVREntry(session: session, sequence: sequence, programDate: base + Int64(seconds * 1000), duration: duration,
                        discontinuitySequence: discontinuity, tracks: [.video: times], periodFirstSegment: 0)
    }

    /// A timeline fed `seconds` of the synthetic stream, with every segment it finished noted in a
    /// listing as `StreamPackage` notes them (so the ones it evicted are there as the archive has them).
    static func fed(seconds: Int, window: Double) throws -> (LiveTimeline, DVRListing) {
        var timeline = LiveTimeline(configuration: PackagingConfiguration(segmentSeconds: 2, listSize: 3))
        var listing = DVRListing(windowSeconds: window)
        var stream = SyntheticStream()
        for second in 0..<seconds {
            try timeline.feed(stream.frames(seconds: 1, start: Int64(second) * 1000, headers: second == 0))
            listing.note(timeline.segments.filter(\.isComplete).map(DVREntry.init))
        }
        return (timeline, listing)
    }

    @Test func classicWindowListsTheArchiveBeforeMemoryWithOneNumberingAndDates() throws {
        let (timeline, listing) = try Self.fed(seconds: 61, window: 7200)
        let memory = timeline.segments.filter(\.isComplete).map(\.mediaSequence)
        #expect(memory.first ?? 0 > 10, "the in-memory window stays small: \(memory)")
        let playlist = try timeline.dvrClassicPlaylist(listing).get()
        #expect(playlist.mediaSequence == 0)
        #expect(playlist.segments.count == 30 && playlist.segments.count == listing.entries.count)
        #expect(playlist.segments.map(\.uri) == (0..<30).map { "ts/00000000000000ab-\($0).ts" })
        let text = playlist.render()
        #expect(text.hasPrefix("""
            #EXTM3U
            #EXT-X-VERSION:3
            #EXT-X-TARGETDURATION:2
            #EXT-X-MEDIA-SEQUENCE:0
            #EXT-X-PROGRAM-DATE-TIME:2027-01-15T08:00:00.000Z
            #EXTINF:2.000,
            ts/00000000000000ab-0.ts
            #EXT-X-PROGRAM-DATE-TIME:2027-01-15T08:00:02.000Z
            #EXTINF:2.000,
            ts/00000000000000ab-1.ts

            """))
        #expect(text.components(separatedBy: "#EXT-X-PROGRAM-DATE-TIME:").count == 31, "a date on every segment")
        let parsed = try Self.python(Self.m3u8Summary, text)
        #expect(parsed.hasPrefix("0|0|30|2027-01-15T08:00:00+00:00|2027-01-15T08:00:58+00:00"), "\(parsed)")
    }

    @Test func theWindowCountsBackFromTheNewestSegmentAndStopsAtAGap() throws {
        var listing = DVRListing(windowSeconds: 60)
        listing.fill((0..<100).filter { $0 != 40 }.map { Self.entry($0, at: Double($0) * 2) })
        // Numbers after the gap only, and within the margin past the window.
        #expect(listing.entries.first?.sequence == 41 && listing.entries.last?.sequence == 99)
        let shown = listing.windowed(listing.entries)
        #expect(shown.first?.sequence == 69, "60 s back from segment 99 at 198 s: 138 s and later")
        // The timeline's own description of a number wins over the archive's.
        listing.note([Self.entry(99, at: 198, duration: 1.5)])
        listing.fill([Self.entry(99, at: 198, duration: 3)])
        #expect(listing.newest?.duration == 1.5)
    }

    @Test func discontinuitiesAndTheirSequenceComeFromTheSegmentsNumbers() throws {
        var listing = DVRListing(windowSeconds: 600)
        listing.fill([Self.entry(7, at: 0, discontinuity: 3), Self.entry(8, at: 2, discontinuity: 3),
                      Self.entry(9, at: 4, discontinuity: 4, session: "00000000000000ac"), Self.entry(10, at: 6, discontinuity: 4, session: "00000000000000ac")])
        let timeline = LiveTimeline(configuration: PackagingConfiguration())
        let text = try timeline.dvrClassicPlaylist(listing).get().render()
        #expect(text == """
            #EXTM3U
            #EXT-X-VERSION:3
            #EXT-X-TARGETDURATION:2
            #EXT-X-MEDIA-SEQUENCE:7
            #EXT-X-DISCONTINUITY-SEQUENCE:3
            #EXT-X-PROGRAM-DATE-TIME:2027-01-15T08:00:00.000Z
            #EXTINF:2.000,
            ts/00000000000000ab-7.ts
            #EXT-X-PROGRAM-DATE-TIME:2027-01-15T08:00:02.000Z
            #EXTINF:2.000,
            ts/00000000000000ab-8.ts
            #EXT-X-DISCONTINUITY
            #EXT-X-PROGRAM-DATE-TIME:2027-01-15T08:00:04.000Z
            #EXTINF:2.000,
            ts/00000000000000ac-9.ts
            #EXT-X-PROGRAM-DATE-TIME:2027-01-15T08:00:06.000Z
            #EXTINF:2.000,
            ts/00000000000000ac-10.ts

            """)
        let parsed = try Self.python(Self.m3u8Summary, text)
        #expect(parsed.hasPrefix("7|3|4|"), "\(parsed)")
        #expect(parsed.hasSuffix("|False,False,True,False"), "\(parsed)")
    }

    @Test func startOverBeginsAtTheSegmentHoldingTheInstant() throws {
        var listing = DVRListing(windowSeconds: 600)
        listing.fill((0..<10).map { Self.entry($0, at: Double($0) * 2) })
        let timeline = LiveTimeline(configuration: PackagingConfiguration())
        let anchored = try timeline.dvrClassicPlaylist(listing, start: Self.base + 5250).get()
        #expect(anchored.mediaSequence == 2 && anchored.segments.count == 8)
        let text = anchored.render()
        #expect(text.contains("#EXT-X-START:TIME-OFFSET=1.250,PRECISE=YES\n#EXT-X-MEDIA-SEQUENCE:2\n"), "\(text)")
        #expect(try Self.python("import sys, m3u8\np = m3u8.loads(sys.stdin.read())\nprint(p.start.time_offset, p.start.precise)", text)
            == "1.25 YES")
        #expect(throws: StartUnavailable.beforeWindow(oldest: Self.base)) { try timeline.dvrClassicPlaylist(listing, start: Self.base - 1).get() }
        #expect(throws: StartUnavailable.afterLive(newest: Self.base + 20000)) {
            try timeline.dvrClassicPlaylist(listing, start: Self.base + 20000).get()
        }
    }

    @Test func lowLatencyWindowListsOlderSegmentsWholeAndPartsOnlyNearTheEdge() throws {
        let (timeline, listing) = try Self.fed(seconds: 61, window: 7200)
        let playlist = try #require(timeline.dvrLowLatencyPlaylist(.video, listing: listing, skip: false)).get()
        #expect(playlist.mediaSequence == 0 && playlist.segments.count == 30)
        #expect(playlist.segments.map(\.uri) == (0..<30).map { "cmaf/00000000000000ab/video-\($0).m4s" })
        #expect(playlist.segments.compactMap(\.map) == ["cmaf/00000000000000ab/video-init.mp4"], "one map, on the first")
        #expect(playlist.segments.allSatisfy { $0.programDate != nil })
        #expect(playlist.segments.prefix(25).allSatisfy(\.parts.isEmpty) && !playlist.segments.last!.parts.isEmpty)
        let text = playlist.render()
        #expect(text.components(separatedBy: "#EXT-X-MAP:").count == 2)
        let parsed = try Self.python(Self.m3u8Summary, text)
        #expect(parsed.hasPrefix("0|0|30|2027-01-15T08:00:00+00:00|"), "\(parsed)")
        // A delta update skips all but CAN-SKIP-UNTIL (6 target durations) of them.
        let delta = try #require(timeline.dvrLowLatencyPlaylist(.video, listing: listing, skip: true)).get()
        #expect(delta.skippedSegments > 20 && delta.skippedSegments + delta.segments.count == 30)
        #expect(delta.segments.first?.map == "cmaf/00000000000000ab/video-init.mp4")
        #expect(delta.render().contains("#EXT-X-SKIP:SKIPPED-SEGMENTS=\(delta.skippedSegments)\n"))
        // Start-over: from segment 3, 0.5 s in.
        let anchored = try #require(timeline.dvrLowLatencyPlaylist(.video, listing: listing, skip: false,
                                                                    start: listing.entries[3].programDate + 500)).get()
        #expect(anchored.mediaSequence == 3 && anchored.startOffset == 0.5)
        #expect(anchored.segments.first?.map == "cmaf/00000000000000ab/video-init.mp4")
    }

    @Test func dashWindowDescribesTheArchiveInTheTimelineAndTheDepth() throws {
        let (timeline, listing) = try Self.fed(seconds: 61, window: 7200)
        let manifest = try #require(timeline.dvrDashManifest(listing)).get()
        #expect(manifest.timeShiftBufferDepth == 7200)
        let video = try #require(manifest.periods.first?.representations.first { $0.id == "video" })
        #expect(video.startNumber == 0 && video.timeline.first?.time == video.presentationTimeOffset)
        #expect(video.timeline.reduce(0) { $0 + $1.repeatCount + 1 } == 30, "\(video.timeline)")
        let text = manifest.render()
        #expect(text.contains("timeShiftBufferDepth=\"PT7200S\""))
        let parsed = try Self.python("""
            import sys
            from mpegdash.parser import MPEGDASHParser
            mpd = MPEGDASHParser.parse(sys.stdin.read())
            t = mpd.periods[0].adaptation_sets[0].representations[0].segment_templates[0]
            print(mpd.time_shift_buffer_depth, sum((s.r or 0) + 1 for s in t.segment_timelines[0].Ss))
            """, text)
        #expect(parsed == "PT7200S 30")
        let anchored = try #require(timeline.dvrDashManifest(listing, start: listing.entries[5].programDate)).get()
        #expect(anchored.suggestedPresentationDelay > 45, "\(anchored.suggestedPresentationDelay)")
    }

    /// Media sequence, discontinuity sequence, segment count, first and last program date, then
    /// each whole segment's discontinuity flag.
    static let m3u8Summary = """
        import sys, m3u8
        p = m3u8.loads(sys.stdin.read())
        s = [x for x in p.segments if x.uri]  # the parts of the segment being written come as one without
        print("%d|%d|%d|%s|%s|%s" % (p.media_sequence, p.discontinuity_sequence or 0, len(s),
              s[0].program_date_time.isoformat(), s[-1].program_date_time.isoformat(), ",".join(str(x.discontinuity) for x in s)))
        """

    /// Runs a Python script with `input` on its standard input; its output, trimmed.
    static func python(_ script: String, _ input: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let read = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "python3 failed on:\n\(input.prefix(2000))")
        return String(decoding: read, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
