import Events
import Foundation
import Media
import State
import Testing
@testable import Packager

/// The archive's read side over SQLite and the filesystem store: listed oldest first from an
/// instant, bytes at their live names (DASH names through the index), and rows that do not read
/// back as a sound segment left out.
@Suite struct DVRArchiveTests {
    let stream = StreamID("cam1")!
    let session = "00000000000abcde"
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-dvr-\(UUID().uuidString)")

    func archive() throws -> DVRArchive {
        DVRArchive(index: SQLiteAssetIndex(database: try SQLiteDatabase(path: nil)), store: FilesystemAssetStore(root: root))
    }

    func segment(_ sequence: Int, session: String? = nil) -> DVRSegment {
        let session = session ?? self.session
        return DVRSegment(session: session, sequence: sequence, duration: 2, programDate: start.addingTimeInterval(Double(sequence) * 2),
                          discontinuity: false,
                          resources: ["ts/\(session)-\(sequence).ts", "cmaf/\(session)/video-\(sequence).m4s"],
                          discontinuitySequence: 1, periodFirstSegment: sequence >= 3 ? 3 : 0,
                          tracks: [.init(kind: "video", duration: 2, startTime: UInt64(sequence) * 180_000, ticks: 180_000)],
                          initSegments: ["cmaf/\(session)/video-init.mp4"])
    }

    func put(_ segment: DVRSegment, in archive: DVRArchive) async throws {
        for path in segment.resources {
            try await archive.store.put(Data(path.utf8), at: DVRArchive.location(of: stream, relativePath: path), contentType: "video/mp4")
        }
        try await archive.index.addDVRSegment(segment.entry(of: stream))
    }

    @Test func segmentsAreListedOldestFirstFromAnInstant() async throws {
        let archive = try archive()
        defer { try? FileManager.default.removeItem(at: root) }
        for sequence in [7, 3, 5, 4, 6] { try await put(segment(sequence), in: archive) }
        try await put(segment(5), in: archive)  // listed once however often it is added
        let all = try await archive.segments(of: stream, since: .distantPast)
        #expect(all.map(\.sequence) == [3, 4, 5, 6, 7])
        #expect(all.first == segment(3))
        let later = try await archive.segments(of: stream, since: start.addingTimeInterval(10))
        #expect(later.map(\.sequence) == [5, 6, 7])
        #expect(try await archive.segments(of: StreamID("cam2")!, since: .distantPast).isEmpty)
        #expect(try await archive.segments(of: stream, rendition: "720p", since: .distantPast).isEmpty)
    }

    @Test func bytesAreFoundByTheirLiveNames() async throws {
        let archive = try archive()
        defer { try? FileManager.default.removeItem(at: root) }
        try await put(segment(5), in: archive)
        let ts = "ts/\(session)-5.ts"
        #expect(try await archive.bytes(of: stream, relativePath: ts) == Data(ts.utf8))
        // DASH numbers the same file from its period's first segment (3): d2 is segment 5.
        let cmaf = "cmaf/\(session)/video-5.m4s"
        #expect(try await archive.bytes(of: stream, relativePath: "cmaf/\(session)/video-d2.m4s") == Data(cmaf.utf8))
        #expect(try await archive.bytes(of: stream, relativePath: "cmaf/\(session)/video-d3.m4s") == nil)
        #expect(try await archive.bytes(of: stream, relativePath: "cmaf/\(session)/audio-d2.m4s") == nil, "not archived")
        for hostile in ["../../etc/passwd", "ts/../../x.ts", "live.m3u8", "ts/\(session)-99999999999.ts", "", "/",
                        "cmaf/\(session)/video-5.0.m4s", String(repeating: "a/", count: 500)] {
            #expect(try await archive.bytes(of: stream, relativePath: hostile) == nil, "\(hostile)")
        }
        #expect(try await archive.bytes(of: stream, rendition: "../x", relativePath: ts) == nil)
        if case .file(let path)? = try await archive.source(of: stream, relativePath: ts) {
            #expect(path.hasSuffix("dvr/cam1/\(ts)"))
        } else {
            Issue.record("no local file")
        }
    }

    @Test func rowsThatDoNotReadBackAreLeftOut() async throws {
        let archive = try archive()
        defer { try? FileManager.default.removeItem(at: root) }
        try await put(segment(1), in: archive)
        var entries: [DVRIndexEntry] = []
        var wrongSession = segment(2).entry(of: stream)
        wrongSession.session = "00000000000fffff"
        entries.append(wrongSession)
        var garbage = segment(3).entry(of: stream)
        garbage.record = "{not json"
        entries.append(garbage)
        var foreignPath = segment(4)
        foreignPath.resources = ["ts/\(session)-5.ts"]
        entries.append(foreignPath.entry(of: stream))
        var hugeDuration = segment(5)
        hugeDuration.duration = 1e300
        entries.append(hugeDuration.entry(of: stream))
        var huge = segment(6).entry(of: stream)
        huge.record = String(repeating: " ", count: 20_000) + segment(6).record
        entries.append(huge)
        var badNumbers = segment(7)
        badNumbers.periodFirstSegment = 8
        entries.append(badNumbers.entry(of: stream))
        for entry in entries { try await archive.index.addDVRSegment(entry) }
        try await put(segment(8), in: archive)
        let listed = try await archive.segments(of: stream, since: .distantPast).map(\.sequence)
        #expect(listed == [1, 8])
    }

    @Test func recordsRoundTripAndRefuseWhatSluiceNeverWrites() {
        let sound = segment(9)
        #expect(DVRSegment(record: sound.record) == sound)
        #expect(sound.record.contains("\"programDate\":1800000018000"))
        for bad in ["", "null", "[]", #"{"session":"x"}"#, sound.record.replacingOccurrences(of: "1800000018000", with: "1e400"),
                    sound.record.replacingOccurrences(of: "\"sequence\":9", with: "\"sequence\":-9"),
                    sound.record.replacingOccurrences(of: "\"sequence\":9", with: "\"sequence\":99999999999999999999")] {
            #expect(DVRSegment(record: bad) == nil, "\(bad)")
        }
    }

    /// Track times are summed into DASH `S` runs by every edge: a row whose times could overflow
    /// that sum is refused, and the sum itself saturates instead of trapping.
    @Test func trackTimesThatCouldOverflowAnMPDAreRefused() throws {
        var huge = segment(9)
        var track = try #require(huge.tracks.first)
        track.startTime = UInt64.max
        huge.tracks = [track]
        #expect(DVRSegment(record: huge.record) == nil)
        track.startTime = 0
        track.ticks = UInt64.max / 2
        huge.tracks = [track]
        #expect(DVRSegment(record: huge.record) == nil)
        let run = DASHManifest.TimelineEntry(time: UInt64.max - 1, duration: UInt64.max / 2, repeatCount: 3)
        #expect(run.end == UInt64.max)
        var timeline = [run]
        DASHManifest.append(time: 5, duration: 1, to: &timeline)
        #expect(timeline.count == 2)
    }

    /// What the recorder hands out is stored and listed; what leaves the window goes, rows and
    /// files, and a session's init segments with its last segment.
    @Test func keptSegmentsAreRemovedWithTheirFilesAndLastlyTheirInitSegments() async throws {
        let archive = try archive()
        defer { try? FileManager.default.removeItem(at: root) }
        let handed = try DVRRecorderTests().record(try DVRRecorderTests.republishedLog(), PackagingConfiguration(segmentSeconds: 2))
        for finished in handed { try await archive.keep(finished, of: stream) }
        let listed = try await archive.segments(of: stream, since: .distantPast)
        #expect(listed == handed.map(\.segment))
        for file in handed.flatMap(\.files) {
            #expect(try await archive.bytes(of: stream, relativePath: file.relativePath) == Data(file.bytes.readableBytesView))
        }
        let firstSession = listed[0].session, secondSession = listed[7].session
        // Up to the first session's last segment: its init segments stay while it has one listed.
        #expect(try await archive.remove(of: stream, before: listed[6].programDate) == 6)
        #expect(try await archive.segments(of: stream, since: .distantPast).map(\.sequence) == listed[6...].map(\.sequence))
        for gone in listed[..<6].flatMap(\.resources) { #expect(try await archive.bytes(of: stream, relativePath: gone) == nil, "\(gone)") }
        #expect(try await archive.bytes(of: stream, relativePath: "cmaf/\(firstSession)/video-init.mp4") != nil)
        #expect(try await archive.remove(of: stream, before: listed[8].programDate, limit: 1) == 1)
        #expect(try await archive.remove(of: stream, before: listed[8].programDate) == 1)
        #expect(try await archive.bytes(of: stream, relativePath: "cmaf/\(firstSession)/video-init.mp4") == nil)
        #expect(try await archive.bytes(of: stream, relativePath: "cmaf/\(firstSession)/audio-init.mp4") == nil)
        #expect(try await archive.bytes(of: stream, relativePath: "cmaf/\(secondSession)/video-init.mp4") != nil)
        #expect(try await archive.remove(of: stream, before: .distantFuture) == 4)
        #expect(try await archive.index.dvrStreams(limit: 10).isEmpty)
        let left = FileManager.default.enumerator(atPath: root.path)?.allObjects.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".ts") || $0.hasSuffix(".m4s") || $0.hasSuffix(".mp4") } ?? []
        #expect(left.isEmpty, "\(left)")
    }

    /// A two-hour window of two-second segments reads back in one listing.
    @Test func aTwoHourWindowReadsBackInOneListing() async throws {
        let archive = try archive()
        for sequence in 0..<3600 { try await archive.index.addDVRSegment(segment(sequence).entry(of: stream)) }
        let started = ContinuousClock.now
        let listed = try await archive.segments(of: stream, since: start)
        let took = ContinuousClock.now - started
        #expect(listed.map(\.sequence) == Array(0..<3600))
        #expect(took < .seconds(5), "\(took)")
        print("DVRArchive: 3600 segments listed and checked in \(took)")
    }
}
