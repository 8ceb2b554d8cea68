import Events
import Foundation
import Logging
import State
import Testing
@testable import Workers

/// A recording taken over from a worker that died mid-file: the survivor makes the dead worker's
/// unfinished file again from the log (same name and id), goes on with the next files, and the
/// dead worker's own recovery later lists nothing twice.
@Suite(.timeLimit(.minutes(2)))
struct RecordingResumeTests {
    private let id = StreamID("resumed")!
    private let logger = Logger(label: "test")

    /// 14 s of H.264 (a keyframe a second) and AAC, published on an embedded bus; the deliveries
    /// read back, with their offsets.
    private func publishedStream(_ bus: EmbeddedEventBus) async throws -> [BusDelivery] {
        let folder = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let flv = folder.appendingPathComponent("source.flv")
        try MediaFixtures.makeFLV(at: flv, input: ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=30"], seconds: 14)
        let frames = try MediaFixtures.frames(ofFLV: flv)
        let reader = bus.subscribe(to: .mediaSource, from: .beginning)
        for frame in frames { try bus.publish(BusRecord(key: id.rawValue, value: .frame(frame)), to: .mediaSource) }
        var deliveries: [BusDelivery] = []
        for try await delivery in reader {
            deliveries.append(delivery)
            if deliveries.count == frames.count { break }
        }
        return deliveries
    }

    private func router(_ bus: any EventBus, progress: any RecordingProgressStore, joining: SessionJoining?, work: URL,
                        shelf: AssetShelf) -> SessionRouter<StreamMP4Recorder> {
        let settings = MP4Worker.Settings(channelID: "resumed", segmentSeconds: 4)
        return SessionRouter(bus: bus, feed: .fromNow, joining: joining, logger: logger) { id, session in
            let noted = try? await progress.progress(of: id, kind: StreamMP4Recorder.progressKind)
            return StreamMP4Recorder(streamID: id, sessionID: session, settings: settings, workDirectory: work, shelf: shelf,
                                     progress: progress, resuming: noted?.sessionID == session ? noted : nil, logger: logger)
        }
    }

    private func route(_ delivery: BusDelivery, to router: SessionRouter<StreamMP4Recorder>) async {
        guard case .frame(let frame) = delivery.record.value else { return }
        await router.route(frame, of: id, offset: delivery.offset, publishedAt: delivery.publishedAt)
    }

    /// The file's first keyframe time from its name (`{stream}-{session}-{dts}.mp4`).
    private func startDTS(_ asset: Asset) -> Int64? {
        asset.location.split(separator: "-").last.flatMap { Int64($0.dropLast(4)) }
    }

    @Test func aSurvivorMakesTheDeadWorkersUnfinishedFileAgainFromTheLogAndListsItOnce() async throws {
        let bus = EmbeddedEventBus()
        let deliveries = try await publishedStream(bus)
        let folder = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (deadWork, survivorWork) = (folder.appendingPathComponent("dead"), folder.appendingPathComponent("survivor"))
        for work in [deadWork, survivorWork] { try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true) }
        let index = SQLiteAssetIndex(database: try SQLiteDatabase(path: nil))
        let shelf = AssetShelf(bus: bus, index: index, store: FilesystemAssetStore(root: folder.appendingPathComponent("assets")),
                               logger: logger)
        let progress = InMemoryRecordingProgressStore()

        let interrupted = try await recordUntilDeath(deliveries, bus: bus, progress: progress, index: index, work: deadWork, shelf: shelf)
        let survivor = survivorRouter(deliveries, bus: bus, progress: progress, work: survivorWork, shelf: shelf)
        let resumedAt = try #require(deliveries.firstIndex { delivery in
            if case .frame(let frame) = delivery.record.value { return frame.dts >= 11_500 } else { return false }
        })
        for delivery in deliveries[resumedAt...] { await route(delivery, to: survivor) }
        if case .frame(let last) = deliveries.last?.record.value {
            await survivor.route(MediaFrame(kind: .end, codec: "", dts: last.dts, sessionID: last.sessionID, sequence: last.sequence + 1,
                                            payload: .init()), of: id)
        }
        let listed = try await expectTheInterruptedFileRemadeWhole(interrupted, index: index)

        // The dead worker restarts: its half-written third file is already listed whole.
        let restarted = MP4Worker(bus: bus, index: index, store: shelf.store, workDirectory: deadWork, channels: SameChannel.none,
                                  logger: logger)
        await restarted.recover()
        let afterRecovery = try await index.list(AssetQuery(kind: .mp4)).assets
        #expect(afterRecovery.count == listed.count, "the recovery lists nothing twice")
        #expect(try await index.asset(interrupted.id)?.duration == listed.first { $0.id == interrupted.id }?.duration,
                "the whole file stays listed")
        #expect(try FileManager.default.contentsOfDirectory(atPath: deadWork.path).isEmpty, "the half-written file is removed")
    }

    /// The first worker records 9.5 s (files from 0 s and 4 s, the third begun at 8 s), then
    /// dies. Returns the third file, as its start was noted.
    private func recordUntilDeath(_ deliveries: [BusDelivery], bus: EmbeddedEventBus, progress: InMemoryRecordingProgressStore,
                                  index: SQLiteAssetIndex, work: URL, shelf: AssetShelf) async throws -> Asset {
        let dead = router(bus, progress: progress, joining: nil, work: work, shelf: shelf)
        let cut = try #require(deliveries.firstIndex { delivery in
            if case .frame(let frame) = delivery.record.value { return frame.dts >= 9_500 } else { return false }
        })
        for delivery in deliveries[..<cut] { await route(delivery, to: dead) }
        var noted: RecordingProgress?
        for _ in 0..<100 {
            noted = try await progress.progress(of: id, kind: StreamMP4Recorder.progressKind)
            // Noted once the second file is listed.
            if let file = noted?.asset, try await index.list(AssetQuery(kind: .mp4)).assets.count == 2,
               try await index.asset(file.id) == nil { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let interrupted = try #require(noted?.asset, "the third file's start is noted")
        #expect(try await index.asset(interrupted.id) == nil, "the third file is not listed")
        let beforeDeath = try await index.list(AssetQuery(kind: .mp4)).assets
        #expect(beforeDeath.count == 2, "the files before it are listed before its start is noted: \(beforeDeath.map(\.location))")
        return interrupted
    }

    /// The survivor's recorder. Its group read begins 2 s after the death (the dead member
    /// handled those frames); its headers are the session's configurations (ingest's record in
    /// session state).
    private func survivorRouter(_ deliveries: [BusDelivery], bus: EmbeddedEventBus, progress: InMemoryRecordingProgressStore,
                                work: URL, shelf: AssetShelf) -> SessionRouter<StreamMP4Recorder> {
        let headers = deliveries.compactMap { delivery -> MediaFrame? in
            guard case .frame(let frame) = delivery.record.value, frame.isConfiguration else { return nil }
            return frame
        }
        let joining = SessionJoining(lookback: nil) { _, _ in headers }
        return router(bus, progress: progress, joining: joining, work: work, shelf: shelf)
    }

    /// What is listed once the survivor is done: every file once, the interrupted one made again
    /// whole under its drafted name and id, one file ending where the next begins.
    private func expectTheInterruptedFileRemadeWhole(_ interrupted: Asset, index: SQLiteAssetIndex) async throws -> [Asset] {
        let listed = try await index.list(AssetQuery(kind: .mp4)).assets.sorted { (startDTS($0) ?? 0) < (startDTS($1) ?? 0) }
        let starts = listed.compactMap(startDTS)
        print("recording resume: files start at \(starts) ms, last \(listed.last.map { $0.duration } ?? 0) s")
        #expect(Set(listed.map(\.id)).count == listed.count, "nothing listed twice")
        let remade = try #require(listed.first { $0.id == interrupted.id }, "the interrupted file is listed")
        #expect(remade.location == interrupted.location && abs(remade.start.timeIntervalSince(interrupted.start)) < 1, "as the first worker drafted it")
        #expect(abs(remade.duration - 4) < 0.2, "whole from its first frame: \(remade.duration) s")
        #expect(starts.count == 4, "0, 4, 8 and 12 s: \(starts)")
        for (earlier, later) in zip(listed, listed.dropFirst()) {
            let gap = Double((startDTS(later) ?? 0) - (startDTS(earlier) ?? 0)) / 1000 - earlier.duration
            #expect(abs(gap) < 0.1, "one file ends where the next begins: \(earlier.location) → \(later.location) gap \(gap) s")
        }
        return listed
    }

    private func vodRouter(_ bus: any EventBus, progress: any RecordingProgressStore, joining: SessionJoining?,
                           shelf: AssetShelf) -> SessionRouter<VODRecorder> {
        let settings = VODWorker.Settings(channelID: "resumed", segmentSeconds: 4)
        return SessionRouter(bus: bus, feed: .fromNow, joining: joining, logger: logger) { id, session in
            let noted = try? await progress.progress(of: id, kind: VODRecorder.progressKind)
            return VODRecorder(streamID: id, sessionID: session, settings: settings, shelf: shelf, progress: progress,
                               resuming: noted?.sessionID == session ? noted : nil, logger: logger)
        }
    }

    @Test func aSurvivorMakesTheDeadWorkersUnfinishedVODSegmentAgainAndThePlaylistGoesOnWithoutAGap() async throws {
        let bus = EmbeddedEventBus()
        let deliveries = try await publishedStream(bus)
        let folder = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let index = SQLiteAssetIndex(database: try SQLiteDatabase(path: nil))
        // VOD segments and playlists live in the store the workers share (S3 in a cluster).
        let shelf = AssetShelf(bus: bus, index: index, store: FilesystemAssetStore(root: folder), logger: logger)
        let progress = InMemoryRecordingProgressStore()
        func frames(from seconds: Int64) -> Int {
            deliveries.firstIndex { delivery in
                if case .frame(let frame) = delivery.record.value { return frame.dts >= seconds } else { return false }
            } ?? deliveries.count
        }

        // The first worker stores segments 0 and 1 and dies 1.5 s into segment 2.
        let dead = vodRouter(bus, progress: progress, joining: nil, shelf: shelf)
        for delivery in deliveries[..<frames(from: 9_500)] {
            guard case .frame(let frame) = delivery.record.value else { continue }
            await dead.route(frame, of: id, offset: delivery.offset, publishedAt: delivery.publishedAt)
        }
        let noted = try await progress.progress(of: id, kind: VODRecorder.progressKind)
        #expect(noted?.segment == 2, "segment 2's start is noted: \(String(describing: noted))")

        let headers = deliveries.compactMap { delivery -> MediaFrame? in
            guard case .frame(let frame) = delivery.record.value, frame.isConfiguration else { return nil }
            return frame
        }
        let survivor = vodRouter(bus, progress: progress, joining: SessionJoining(lookback: nil) { _, _ in headers }, shelf: shelf)
        var last: MediaFrame?
        for delivery in deliveries[frames(from: 11_500)...] {
            guard case .frame(let frame) = delivery.record.value else { continue }
            await survivor.route(frame, of: id, offset: delivery.offset, publishedAt: delivery.publishedAt)
            last = frame
        }
        let end = try #require(last)
        await survivor.route(MediaFrame(kind: .end, codec: "", dts: end.dts, sessionID: end.sessionID, sequence: end.sequence + 1,
                                        payload: .init()), of: id)

        let recordings = try await index.list(AssetQuery(kind: .vodPlaylist)).assets
        #expect(recordings.count == 1, "one recording for the session")
        let recording = try #require(recordings.first)
        let playlist = try #require(try await shelf.store.get(recording.location))
        let segments = VODPlaylistText.segments(String(decoding: playlist, as: UTF8.self))
        print("VOD resume: segments \(segments.map { "\($0.uri) \($0.duration) s\($0.discontinuity ? " (discontinuity)" : "")" })")
        #expect(segments.map(\.uri) == ["0.ts", "1.ts", "2.ts", "3.ts"])
        #expect(segments.allSatisfy { !$0.discontinuity }, "no gap: segment 2 is made again from its first frame")
        #expect(segments.prefix(3).allSatisfy { abs($0.duration - 4) < 0.1 }, "whole segments")
        let total = segments.reduce(0) { $0 + $1.duration }
        #expect(abs(total - 14) < 0.2, "the whole stream: \(total) s")
    }
}
