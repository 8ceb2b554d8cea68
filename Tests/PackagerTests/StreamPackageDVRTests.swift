import Events
import Foundation
import NIOCore
import NIOEmbedded
@testable import Packager
import State
import Testing

/// A package with a DVR window: memory keeps its usual window, playlists list the whole DVR
/// window, what left memory is found in the archive, and a package that began reading later
/// lists what the archive holds with the same bytes as one that saw it all.
@Suite struct StreamPackageDVRTests {
    static let configuration: PackagingConfiguration = {
        var configuration = PackagingConfiguration(segmentSeconds: 2, listSize: 3)
        configuration.dvrWindowSeconds = 7200
        return configuration
    }()
    static let stream = StreamID("cam")!
    static let session = "00000000000000ab"
    let loop = EmbeddedEventLoop()

    /// Frames stamped as an ingest node stamps them, so every package numbers them alike.
    static func stampedFrames(seconds: Int) -> [MediaFrame] {
        var source = SyntheticStream()
        var cutter = SegmentCutter(rules: configuration.cutRules, numbersFromClock: false)
        return source.frames(seconds: Double(seconds)).map { frame in
            var stamped = frame
            cutter.stamp(&stamped, arrivedAt: Self.arrival(of: frame))
            return stamped
        }
    }

    static func arrival(of frame: MediaFrame) -> Date { Date(timeIntervalSince1970: 1_800_000_000 + Double(frame.dts) / 1000) }

    static func archive() throws -> DVRArchive {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dvr-\(UUID().uuidString)", isDirectory: true)
        return DVRArchive(index: SQLiteAssetIndex(database: try SQLiteDatabase(path: nil)), store: FilesystemAssetStore(root: folder))
    }

    static func feed(_ package: StreamPackage, _ frames: some Sequence<MediaFrame>) throws {
        for frame in frames { try package.append(frame, arrival: arrival(of: frame)) }
    }

    func text(_ package: StreamPackage, _ resource: PackagedResource, _ request: PlaylistRequest = PlaylistRequest()) -> String? {
        var result: PackagedResponse?
        package.respond(to: resource, request: request, eventLoop: loop).whenSuccess { result = $0 }
        loop.run()
        guard case .content(let body, _, _, _) = result else { return nil }
        return String(buffer: body)
    }

    /// What `DVRRecorder` writes for a segment, from its description.
    static func archived(_ entry: DVREntry) -> DVRSegment {
        DVRSegment(session: entry.session, sequence: entry.sequence, duration: entry.duration,
                   programDate: Date(timeIntervalSince1970: Double(entry.programDate) / 1000), discontinuity: false,
                   resources: ["ts/\(entry.session)-\(entry.sequence).ts", "cmaf/\(entry.session)/video-\(entry.sequence).m4s",
                               "cmaf/\(entry.session)/audio-\(entry.sequence).m4s"],
                   discontinuitySequence: entry.discontinuitySequence, periodFirstSegment: entry.periodFirstSegment,
                   tracks: entry.tracks.sorted { $0.key.rawValue < $1.key.rawValue }.map { kind, times in
                       DVRSegment.Track(kind: kind.rawValue, duration: times.duration, startTime: times.startTime, ticks: times.ticks)
                   })
    }

    @Test func memoryKeepsItsWindowWhilePlaylistsListTheWholeDVRWindow() throws {
        let package = StreamPackage(streamID: Self.stream, configuration: Self.configuration, archive: try Self.archive())
        package.begin(sessionID: 0xAB)
        try Self.feed(package, Self.stampedFrames(seconds: 121))
        let held = package.state.withLockedValue { $0.timeline.segments.count }
        #expect(held <= Self.configuration.retainedSegments + 1, "memory holds \(held) segments")
        let playlist = try #require(text(package, .classicPlaylist))
        let uris = playlist.split(separator: "\n").filter { $0.hasPrefix("ts/") }
        #expect(uris.count == 60 && uris.first == "ts/\(Self.session)-0.ts", "\(uris.prefix(3)) … \(uris.count)")
        #expect(playlist.components(separatedBy: "#EXT-X-PROGRAM-DATE-TIME:").count == 61)
        // What left memory is named in the archive; what memory holds, or nobody listed, is not.
        #expect(package.archivedMedia(.tsSegment(session: Self.session, mediaSequence: 0))?.location == "dvr/cam/ts/\(Self.session)-0.ts")
        #expect(package.archivedMedia(.dashSegment(session: Self.session, track: .video, number: 3))?.location
            == "dvr/cam/cmaf/\(Self.session)/video-3.m4s")
        #expect(package.archivedMedia(.initSegment(session: Self.session, track: .audio))?.location
            == "dvr/cam/cmaf/\(Self.session)/audio-init.mp4")
        #expect(package.archivedMedia(.tsSegment(session: "00000000000000ac", mediaSequence: 0)) == nil)
        #expect(package.archivedMedia(.tsSegment(session: Self.session, mediaSequence: 60)) == nil)
    }

    @Test func aPackageThatBeganLaterListsTheArchiveWithTheSameBytes() async throws {
        let archive = try Self.archive()
        let frames = Self.stampedFrames(seconds: 121)
        let early = StreamPackage(streamID: Self.stream, configuration: Self.configuration)
        early.begin(sessionID: 0xAB)
        try Self.feed(early, frames)
        // The archive has every segment finished before the late package begins at 80 s (40).
        let made = early.state.withLockedValue { $0.dvr.listing?.entries ?? [] }
        #expect(made.count == 60)
        for entry in made where entry.sequence < 40 {
            try await archive.index.addDVRSegment(Self.archived(entry).entry(of: Self.stream))
        }
        let late = StreamPackage(streamID: Self.stream, configuration: Self.configuration, archive: archive)
        late.begin(sessionID: 0xAB)
        let start = try #require(frames.firstIndex { $0.dts >= 80_000 && $0.startsSegment && $0.kind == .video })
        try Self.feed(late, frames.prefix { $0.isSequenceHeader } + frames[start...])
        await late.state.withLockedValue { $0.dvr.lastReadTask }?.value
        #expect(late.state.withLockedValue { $0.dvr.listing?.oldest?.sequence } == 0)
        for resource in [PackagedResource.classicPlaylist, .llhlsMedia(.video), .llhlsMedia(.audio), .dashManifest] {
            let (earlyText, lateText) = (text(early, resource), text(late, resource))
            #expect(earlyText != nil && earlyText == lateText, "\(resource)")
        }
        let skip = PlaylistRequest(skip: true)
        #expect(text(early, .llhlsMedia(.video), skip) == text(late, .llhlsMedia(.video), skip))
        #expect(text(late, .dashManifest)?.contains("timeShiftBufferDepth=\"PT7200S\"") == true)
        // What an ABR MPD takes from a rendition's package is the same window, archive included.
        let abr = try #require(late.dashManifest())
        #expect(abr.timeShiftBufferDepth == 7200)
        #expect(abr.render() == text(late, .dashManifest))
    }

    @Test func startOverAnswersWithTheAnchoredPlaylistOrSaysWhyNot() throws {
        let package = StreamPackage(streamID: Self.stream, configuration: Self.configuration)
        package.begin(sessionID: 0xAB)
        try Self.feed(package, Self.stampedFrames(seconds: 61))
        let edge = try #require(package.liveEdge)
        let anchored = try #require(text(package, .classicPlaylist, PlaylistRequest(start: .at(unixMilliseconds: edge - 20_000))))
        #expect(anchored.contains("#EXT-X-START:TIME-OFFSET=0.000,PRECISE=YES"), "\(anchored)")
        #expect(anchored.split(separator: "\n").filter { $0.hasPrefix("ts/") }.count == 11)
        let master = try #require(text(package, .llhlsMultivariant, PlaylistRequest(start: .at(unixMilliseconds: edge - 20_000))))
        #expect(master.contains("llhls-video.m3u8?start="), "\(master)")
        var result: PackagedResponse?
        package.respond(to: .classicPlaylist, request: PlaylistRequest(start: .at(unixMilliseconds: 1_000)), eventLoop: loop)
            .whenSuccess { result = $0 }
        loop.run()
        guard case .startUnavailable(.beforeWindow)? = result else {
            Issue.record("a start before the window: \(String(describing: result))")
            return
        }
    }
}

/// When a package reads the archive: as it starts, then only while the window does not reach
/// past memory, at most once a segment and less often while reads find nothing to join.
@Suite struct DVRStateTests {
    @Test func readsAreRareAndStopOnceTheWindowReachesPastMemory() throws {
        var state = DVRState(windowSeconds: 7200)
        var timeline = LiveTimeline(configuration: StreamPackageDVRTests.configuration)
        var source = SyntheticStream()
        var reads: [Int] = []
        for second in 0..<120 {
            try timeline.feed(source.frames(seconds: 1, start: Int64(second) * 1000, headers: second == 0))
            guard state.note(timeline, canRead: true) != nil else { continue }
            let newest = state.listing?.newest?.sequence ?? -1
            reads.append(newest)
            // The archive has nothing older than memory (the stream began here).
            state.finishRead([], memoryOldest: timeline.segments.first(where: \.isComplete)?.mediaSequence)
        }
        // 60 segments: read at the first, then after 1, 2, 4, 8, 16 and 32 more at most.
        #expect(reads.count <= 7 && reads == reads.sorted() && Set(reads).count == reads.count, "\(reads)")
        // A timeline that began 20 segments in: one read fills what came before; no more reads.
        var joined = DVRState(windowSeconds: 7200)
        var late = LiveTimeline(configuration: StreamPackageDVRTests.configuration)
        let frames = StreamPackageDVRTests.stampedFrames(seconds: 80)
        let start = try #require(frames.firstIndex { $0.dts >= 40_000 && $0.startsSegment && $0.kind == .video })
        var count = 0
        late.begin(sessionID: frames[0].sessionID)
        for frame in frames.prefix(while: \.isSequenceHeader) + frames[start...] {
            try late.append(frame, arrival: StreamPackageDVRTests.arrival(of: frame))
            guard joined.note(late, canRead: true) != nil else { continue }
            count += 1
            let oldest = late.segments.first(where: \.isComplete)?.mediaSequence ?? 0
            joined.finishRead((0..<oldest).map { DVRPlaylistTests.entry($0, at: Double($0) * 2) }, memoryOldest: oldest)
        }
        #expect(count == 1 && joined.listing?.oldest?.sequence == 0, "read \(count) times")
        // Failed reads (a store that is away) are tried again a segment later, not after a growing wait.
        var failing = DVRState(windowSeconds: 7200)
        var reread = LiveTimeline(configuration: StreamPackageDVRTests.configuration)
        var failures = 0
        reread.begin(sessionID: frames[0].sessionID)
        for frame in frames.prefix(while: \.isSequenceHeader) + frames[start...] {
            try reread.append(frame, arrival: StreamPackageDVRTests.arrival(of: frame))
            guard failing.note(reread, canRead: true) != nil else { continue }
            failures += 1
            failing.finishRead(nil, memoryOldest: reread.segments.first(where: \.isComplete)?.mediaSequence)
        }
        let segments = reread.segments.filter(\.isComplete).count
        #expect(failures >= segments - 1, "\(failures) reads over \(segments) segments")
        let fresh = late
        // Without an archive, never.
        var none = DVRState(windowSeconds: 7200)
        #expect(none.note(fresh, canRead: false) == nil)
    }
}
