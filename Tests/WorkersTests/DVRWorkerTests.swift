import Events
import Foundation
import Logging
import NIOCore
import NIOPosix
import State
import Testing
@testable import Packager
@testable import Workers

/// The DVR worker over SQLite and the filesystem store: a live stream's finished segments are
/// archived with the bytes the edge serves at the same names, listed oldest first, removed (rows
/// and files) once they leave the window; settings per channel; the sweep; bad rows.
@Suite(.timeLimit(.minutes(2)))
struct DVRWorkerTests {
    let id = StreamID("dvrcam")!
    let logger = Logger(label: "test")
    static let published = Date(timeIntervalSince1970: 1_800_000_000)

    /// `seconds` of H.264 (a keyframe a second) and AAC made by ffmpeg, stamped as ingest stamps
    /// them (2 s segments), then the session's end.
    static func stampedFrames(seconds: Double) throws -> [MediaFrame] {
        let folder = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let flv = folder.appendingPathComponent("source.flv")
        try MediaFixtures.makeFLV(at: flv, input: ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=15"], seconds: seconds, gop: 15)
        var cutter = SegmentCutter(rules: .init(segmentSeconds: 2))
        var frames = try MediaFixtures.frames(ofFLV: flv).map { frame -> MediaFrame in
            var stamped = frame
            cutter.stamp(&stamped, arrivedAt: published.addingTimeInterval(Double(frame.dts) / 1000))
            return stamped
        }
        let last = try #require(frames.last)
        frames.append(MediaFrame(kind: .end, codec: "", dts: last.dts, sessionID: last.sessionID, sequence: last.sequence + 1,
                                 payload: ByteBuffer()))
        return frames
    }

    func channel(windowMinutes: Int = 1) -> StreamChannel {
        var channel = StreamChannel(name: "dvr", dvr: .init(windowMinutes: windowMinutes))
        channel.outputs.hls = true
        channel.outputs.llhls = true
        channel.outputs.dash = true
        return channel
    }

    func archive(_ root: URL) throws -> DVRArchive {
        DVRArchive(index: SQLiteAssetIndex(database: try SQLiteDatabase(path: nil)), store: FilesystemAssetStore(root: root))
    }

    /// A router as the worker makes it, with a window of `window` seconds and no grace.
    func router(_ archive: DVRArchive, window: Double, bus: EmbeddedEventBus) throws -> SessionRouter<DVRStreamArchiver> {
        let packaging = PackagingConfiguration(channel: channel(), sourceRendition: "")
        let settings = DVRWorker.Settings(windowSeconds: window, packaging: packaging)
        return SessionRouter(bus: bus, feed: .fromNow, logger: logger) { [logger] id, session in
            DVRStreamArchiver(streamID: id, sessionID: session, settings: settings, archive: archive, grace: 0, logger: logger)
        }
    }

    func served(_ package: StreamPackage, _ path: String) async throws -> Data? {
        let resource = try #require(PackagedResource(path: path.split(separator: "/", omittingEmptySubsequences: false)))
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        guard case .content(let body, _, _, _) = try await package.respond(to: resource, request: PlaylistRequest(), eventLoop: loop).get()
        else { return nil }
        return Data(body.readableBytesView)
    }

    @Test func theWindowIsArchivedWithTheEdgesBytesAndWhatLeavesItGoes() async throws {
        let frames = try Self.stampedFrames(seconds: 30)
        let root = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let archive = try archive(root)
        let bus = EmbeddedEventBus()
        let router = try router(archive, window: 10, bus: bus)
        let edge = PackagerHub(bus: bus, channels: SameChannel(channel: channel()), logger: logger)
        for frame in frames {
            await router.route(frame, of: id)
            await edge.handle(frame, of: id, arrival: Self.published.addingTimeInterval(Double(frame.dts) / 1000))
        }
        let package = try #require(edge.package(for: id))
        let listed = try await archive.segments(of: id, since: .distantPast)
        #expect((6...7).contains(listed.count), "10 s of 2 s segments behind the newest: \(listed.map(\.sequence))")
        let numbers = listed.map(\.sequence)
        #expect(numbers == Array(numbers[0]..<numbers[0] + numbers.count), "oldest first, no gaps")
        let newest = try #require(listed.last).programDate
        #expect(listed.allSatisfy { newest.timeIntervalSince($0.programDate) <= 10 })
        #expect(listed.last?.duration ?? 9 < 2, "the session's end closed its last segment, as the edge does")
        var compared = 0
        for segment in listed {
            for path in segment.resources + segment.initSegments {
                let archived = try await archive.bytes(of: id, relativePath: path)
                let edgeBytes = try await served(package, path)
                #expect(archived != nil && archived == edgeBytes, "\(path)")
                compared += 1
            }
            let dash = "cmaf/\(segment.session)/video-d\(segment.dashNumber).m4s"
            let edgeBytes = try await served(package, dash)
            #expect(try await archive.bytes(of: id, relativePath: dash) == edgeBytes, "\(dash)")
        }
        #expect(compared == listed.count * 5)
        // What left the window is gone from the index and the disk: only the listed segments' files are left.
        let files = FileManager.default.enumerator(atPath: root.appendingPathComponent("dvr/dvrcam").path)?.allObjects
            .compactMap { $0 as? String }.filter { $0.hasSuffix(".ts") || $0.hasSuffix(".m4s") } ?? []
        #expect(Set(files) == Set(listed.flatMap(\.resources)))
    }

    @Test func aWorkerHandingTheStreamOverArchivesNoUnfinishedSegment() async throws {
        let frames = try Self.stampedFrames(seconds: 9)
        let root = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let archive = try archive(root)
        let bus = EmbeddedEventBus()
        let first = try router(archive, window: 600, bus: bus)
        for frame in frames.prefix(frames.count / 2) { await first.route(frame, of: id) }
        await first.release([0])
        let kept = try await archive.segments(of: id, since: .distantPast)
        #expect(kept.count >= 1 && kept.allSatisfy { abs($0.duration - 2) < 0.1 }, "whole segments only: \(kept.map(\.duration))")
        // The worker taking over joins at a keyframe; what both made is the same, listed once.
        let survivor = try router(archive, window: 600, bus: bus)
        let keyframe = try #require(frames.indices.first { frames[$0].kind == .video && frames[$0].isKeyframe
            && !frames[$0].isSequenceHeader && frames[$0].dts >= 2000 })
        let before = try await archive.bytes(of: id, relativePath: try #require(kept.last?.resources.first))
        for frame in frames.filter(\.isConfiguration) + frames[keyframe...] { await survivor.route(frame, of: id) }
        let all = try await archive.segments(of: id, since: .distantPast)
        #expect(all.count == 5 && Set(all.map(\.sequence)).count == 5)
        #expect(try await archive.bytes(of: id, relativePath: try #require(kept.last?.resources.first)) == before)
    }

    @Test func channelsWithoutAWindowOrHTTPOutputsAreNotArchived() async throws {
        #expect(await DVRWorker.settings(of: id, channels: SameChannel(channel: channel(windowMinutes: 0)), logger: logger) == nil)
        #expect(await DVRWorker.settings(of: id, channels: SameChannel.none, logger: logger) == nil)
        var flvOnly = channel()
        flvOnly.outputs = .init()
        let archive = try archive(FileManager.default.temporaryDirectory.appendingPathComponent("sluice-dvr-\(UUID().uuidString)"))
        func archiver(_ channel: StreamChannel, _ rendition: String) async -> DVRStreamArchiver? {
            await DVRWorker.archiver(of: id, rendition: rendition, session: 7, channels: SameChannel(channel: channel), archive: archive,
                                     logger: logger)
        }
        // A watermarked copy plays in the source's place: it is archived as the stream's, the unmarked source nowhere.
        var watermarked = channel()
        watermarked.watermark.text.enabled = true
        watermarked.watermark.text.text = "live"
        #expect(await archiver(watermarked, "") == nil)
        #expect(await archiver(watermarked, StreamChannel.watermarkedRendition)?.rendition == "")
        // A ladder: the source as the stream's, each rendition under its name.
        var ladder = channel()
        ladder.transcode.enabled = true
        #expect(await archiver(ladder, "")?.rendition == "")
        #expect(await archiver(ladder, "720p")?.rendition == "720p")
        #expect(await archiver(channel(windowMinutes: 0), "720p") == nil)
        // Only FLV at the stream's own URLs: nothing to archive there; a ladder's renditions still play as HLS.
        #expect(await archiver(flvOnly, "") == nil)
        flvOnly.transcode.enabled = true
        #expect(await archiver(flvOnly, "360p")?.rendition == "360p")
        var tuned = channel(windowMinutes: 90)
        tuned.hls.segmentSeconds = 4
        let settings = try #require(await DVRWorker.settings(of: id, channels: SameChannel(channel: tuned), logger: logger))
        #expect(settings.windowSeconds == 5400)
        #expect(settings.packaging == PackagingConfiguration(channel: tuned, sourceRendition: ""))
    }

    /// Renditions arrive on their own topic: each is archived under its name with the bytes the
    /// edge's rendition package serves; the end frame closes its last segment.
    @Test func renditionsAreArchivedUnderTheirNames() async throws {
        let frames = try Self.stampedFrames(seconds: 7).map { frame -> MediaFrame in
            var copy = frame
            copy.rendition = "360p"
            return copy
        }
        let root = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let archive = try archive(root)
        let bus = EmbeddedEventBus()
        var ladder = channel()
        ladder.transcode.enabled = true
        ladder.transcode.renditions = [.p360]
        let directory = SameChannel(channel: ladder)
        let router = DVRRenditionRouter(bus: bus, feed: .fromNow, logger: logger) { [logger] id, rendition, session in
            await DVRWorker.archiver(of: id, rendition: rendition, session: session, channels: directory, archive: archive, logger: logger)
        }
        let edge = PackagerHub(bus: bus, channels: directory, logger: logger)
        for frame in frames {
            await router.route(frame, of: id)
            await edge.handle(frame, of: id, arrival: Self.published.addingTimeInterval(Double(frame.dts) / 1000))
        }
        #expect(try await archive.segments(of: id, since: .distantPast).isEmpty)
        let listed = try await archive.segments(of: id, rendition: "360p", since: .distantPast)
        #expect(listed.count == 4)
        let package = try #require(edge.package(for: id, rendition: "360p"))
        for path in listed.flatMap({ $0.resources + $0.initSegments }) {
            let edgeBytes = try await served(package, path)
            let archived = try await archive.bytes(of: id, rendition: "360p", relativePath: path)
            #expect(archived != nil && archived == edgeBytes, "\(path)")
        }
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("dvr/dvrcam/360p/\(listed[0].resources[0])").path))
    }

    /// A store that holds every put until `open()`, to show the archive does not hold up frames.
    final class GatedStore: AssetStore, @unchecked Sendable {
        let inner: FilesystemAssetStore
        // Guards `isOpen` and the puts waiting for it: set by the test, read by the writer task.
        private let lock = NSLock()
        private var isOpen = false
        private var waiting: [CheckedContinuation<Void, Never>] = []

        init(root: URL) { inner = FilesystemAssetStore(root: root) }

        func open() {
            let resumed = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
                isOpen = true
                defer { waiting = [] }
                return waiting
            }
            for continuation in resumed { continuation.resume() }
        }

        private func gate() async {
            await withCheckedContinuation { continuation in
                let now = lock.withLock { () -> Bool in
                    if isOpen { return true }
                    waiting.append(continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        }

        func put(_ bytes: Data, at location: String, contentType: String) async throws {
            await gate()
            try await inner.put(bytes, at: location, contentType: contentType)
        }
        func put(file: URL, at location: String, contentType: String) async throws { try await inner.put(file: file, at: location, contentType: contentType) }
        func get(_ location: String) async throws -> Data? { try await inner.get(location) }
        func delete(_ location: String) async throws { try await inner.delete(location) }
        func localFile(_ location: String) async throws -> URL? { try await inner.localFile(location) }
    }

    /// A store that does not answer holds up this stream's archive, not the frames: they are
    /// packaged on, a bounded number of segments wait, later ones are dropped (a gap, logged).
    @Test func aStuckStoreDoesNotHoldUpFrames() async throws {
        let frames = try Self.stampedFrames(seconds: 50)
        let root = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let store = GatedStore(root: root)
        let archive = DVRArchive(index: SQLiteAssetIndex(database: try SQLiteDatabase(path: nil)), store: store)
        let router = try router(archive, window: 600, bus: EmbeddedEventBus())
        for frame in frames.dropLast() { await router.route(frame, of: id) }  // returns with every put still waiting
        #expect(try await archive.segments(of: id, since: .distantPast).isEmpty)
        store.open()
        await router.route(try #require(frames.last), of: id)
        let kept = try await archive.segments(of: id, since: .distantPast).count
        // 25 segments finished: the 16 waiting (and the one being stored, if the writer had taken it) are kept, the
        // rest dropped; the last may fit once the store answers.
        #expect((DVRStreamArchiver.pendingLimit...DVRStreamArchiver.pendingLimit + 2).contains(kept), "\(kept)")
    }

    /// A worker dies mid-session; the one taking the stream over reads the log again from the
    /// first frame of the segment the dead one had not stored: the archive has every segment
    /// once, each with the edge's bytes.
    @Test func aSurvivorMakesTheUnstoredSegmentAgainFromTheLog() async throws {
        let bus = EmbeddedEventBus()
        let frames = try Self.stampedFrames(seconds: 14)
        let reader = bus.subscribe(to: .mediaSource, from: .beginning)
        for frame in frames { try bus.publish(BusRecord(key: id.rawValue, value: .frame(frame)), to: .mediaSource) }
        var deliveries: [BusDelivery] = []
        for try await delivery in reader {
            deliveries.append(delivery)
            if deliveries.count == frames.count { break }
        }
        let root = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let archive = try archive(root)
        let progress = InMemoryRecordingProgressStore()
        let directory = SameChannel(channel: channel(windowMinutes: 10))
        func router(joining: SessionJoining?) -> SessionRouter<DVRStreamArchiver> {
            SessionRouter(bus: bus, feed: .fromNow, joining: joining, logger: logger) { [logger] id, session in
                let noted = try? await progress.progress(of: id, kind: DVRStreamArchiver.progressKind)
                return await DVRWorker.archiver(of: id, rendition: "", session: session, channels: directory, archive: archive,
                                                progress: progress, resuming: noted?.sessionID == session ? noted : nil, logger: logger)
            }
        }
        func index(fromSecond second: Int64) throws -> Int {
            try #require(deliveries.firstIndex { if case .frame(let frame) = $0.record.value { frame.dts >= second } else { false } })
        }
        let dead = router(joining: nil)
        for delivery in deliveries[..<(try index(fromSecond: 9_500))] {
            guard case .frame(let frame) = delivery.record.value else { continue }
            await dead.route(frame, of: id, offset: delivery.offset, publishedAt: delivery.publishedAt)
        }
        await dead.release([0])  // what it had finished is stored; then it is gone
        let stored = try await archive.segments(of: id, since: .distantPast)
        let noted = try #require(try await progress.progress(of: id, kind: DVRStreamArchiver.progressKind))
        #expect(noted.segment == stored.last.map { $0.sequence + 1 }, "the unstored segment's start is noted")

        // The survivor's group read begins 2 s after the death; its headers come from session state.
        let headers = frames.filter(\.isConfiguration)
        let survivor = router(joining: SessionJoining(lookback: nil) { _, _ in headers })
        for delivery in deliveries[(try index(fromSecond: 11_500))...] {
            guard case .frame(let frame) = delivery.record.value else { continue }
            await survivor.route(frame, of: id, offset: delivery.offset, publishedAt: delivery.publishedAt)
        }
        let listed = try await archive.segments(of: id, since: .distantPast)
        let numbers = listed.map(\.sequence)
        #expect(listed.count == 7 && numbers == Array(numbers[0]..<numbers[0] + 7), "every segment once: \(numbers)")
        let edge = PackagerHub(bus: bus, channels: directory, logger: logger)
        for frame in frames { await edge.handle(frame, of: id, arrival: Self.published.addingTimeInterval(Double(frame.dts) / 1000)) }
        let package = try #require(edge.package(for: id))
        for path in listed.flatMap(\.resources) {
            let edgeBytes = try await served(package, path)
            let archived = try await archive.bytes(of: id, relativePath: path)
            #expect(archived != nil && archived == edgeBytes, "\(path)")
        }
    }

    @Test func theSweepRemovesWhatStreamsThatStoppedLeftBehind() async throws {
        let root = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let archive = try archive(root)
        let session = "0000000000000007"
        func row(_ stream: StreamID, _ sequence: Int, minutesAgo: Double, now: Date) -> DVRIndexEntry {
            DVRSegment(session: session, sequence: sequence, duration: 2, programDate: now.addingTimeInterval(-minutesAgo * 60),
                       discontinuity: false, resources: ["ts/\(session)-\(sequence).ts"]).entry(of: stream)
        }
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let gone = StreamID("gone")!
        for (sequence, minutes) in [(1, 10.0), (2, 2.5), (3, 1.5)] {
            try await archive.index.addDVRSegment(row(id, sequence, minutesAgo: minutes, now: now))
            try await archive.index.addDVRSegment(row(gone, sequence, minutesAgo: minutes, now: now))
        }
        var broken = row(id, 4, minutesAgo: 30, now: now)
        broken.record = "{]"  // a row that does not read back still goes, with the files its name implies
        try await archive.index.addDVRSegment(broken)
        try await archive.store.put(Data([1]), at: "dvr/dvrcam/ts/\(session)-4.ts", contentType: "video/mp2t")
        struct Directory: ChannelDirectory {
            let window: StreamChannel
            func channel(of stream: StreamID) async throws -> StreamChannel? { stream.rawValue == "dvrcam" ? window : nil }
            func watermarkImageBytes(of stream: StreamID) async throws -> [UInt8]? { nil }
        }
        let sessions = InMemorySessionStore()
        let live = StreamID("livecam")!
        try await archive.index.addDVRSegment(row(live, 1, minutesAgo: 30, now: now))
        try await sessions.markLive(StreamSession(streamID: live, sessionID: 7, node: "node-1", startedAt: now))
        let worker = DVRWorker(bus: EmbeddedEventBus(), index: archive.index, store: archive.store,
                               channels: Directory(window: channel(windowMinutes: 1)), sessions: sessions, logger: logger)
        // One minute of window and one of grace: 2.5 and 10 minutes ago go, 1.5 stays; the stream without a channel loses all;
        // the live stream (no channel here either) is left to its archiver.
        #expect(await worker.sweep(now: now) == 6)
        #expect(try await archive.segments(of: live, since: .distantPast).map(\.sequence) == [1])
        #expect(try await archive.segments(of: id, since: .distantPast).map(\.sequence) == [3])
        #expect(try await archive.index.dvrStreams(limit: 10).sorted { $0.rawValue < $1.rawValue } == [id, live])
        #expect(try await archive.store.get("dvr/dvrcam/ts/\(session)-4.ts") == nil)
    }
}
