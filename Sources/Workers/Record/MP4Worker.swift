import Events
import Foundation
import Logging
import Media
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle
import State

/// Records every live stream whose channel has `record.mp4` as MP4 files of
/// `record.mp4.segmentSeconds` (cut at the first keyframe past it): fragmented on local disk while
/// recording, finished as progressive MP4s, then stored, listed (kind `mp4`) and announced.
/// At start it shelves what a killed predecessor left half-written: those files play up to their
/// last fragment.
///
/// In a cluster (`progress` set) each file's first frame position in the log is noted when it
/// opens (after the file before it is listed), so a worker that takes the stream over makes the
/// file a dead worker was writing again, whole, from the log. Files are named and identified by
/// their stream, session and first keyframe's time, so a file made twice is listed once.
public final class MP4Worker: Service, Sendable {
    public struct Settings: Sendable, Hashable {
        public var channelID: String
        public var segmentSeconds: Double

        public init(channelID: String, segmentSeconds: Double) {
            self.channelID = channelID
            self.segmentSeconds = segmentSeconds
        }

        /// The channel's settings for this worker; nil when the channel has it off.
        public init?(_ channel: StreamChannel) {
            guard channel.record.mp4.enabled else { return nil }
            self.init(channelID: channel.streamName, segmentSeconds: Double(channel.record.mp4.segmentSeconds))
        }
    }

    private let shelf: AssetShelf
    private let workDirectory: URL
    private let logger: Logger
    private let router: SessionRouter<StreamMP4Recorder>

    /// - Parameter workDirectory: where files are written while they record.
    /// - Parameter joining: how to start on sessions under way (a cluster): a new file at the
    ///   first keyframe read, beside the files the previous worker stored, or, with `progress`,
    ///   the file the previous worker had not stored, made again from its first frame.
    /// - Parameter progress: where each stream's recording stands in the log (a cluster); nil on
    ///   one machine.
    /// - Parameter channels: where each stream's settings come from, read once per session.
    public init(bus: any EventBus, feed: WorkerFeed = .fromNow, joining: SessionJoining? = nil,
                progress: (any RecordingProgressStore)? = nil, index: any AssetIndex, store: any AssetStore, workDirectory: URL,
                channels: any ChannelDirectory, logger: Logger) {
        let shelf = AssetShelf(bus: bus, index: index, store: store, logger: logger)
        self.shelf = shelf
        self.workDirectory = workDirectory
        self.logger = logger
        router = SessionRouter(bus: bus, feed: feed, joining: joining, logger: logger) { id, session in
            guard let settings = await channels.channel(of: id, logger: logger).flatMap(Settings.init) else { return nil }
            let noted = try? await progress?.progress(of: id, kind: StreamMP4Recorder.progressKind)
            return StreamMP4Recorder(streamID: id, sessionID: session, settings: settings, workDirectory: workDirectory, shelf: shelf,
                                     progress: progress, resuming: noted?.sessionID == session ? noted : nil, logger: logger)
        }
    }

    public func run() async throws {
        try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
        await recover()
        try await router.run()
    }

    /// Files a killed worker left recording: each is a fragmented MP4 that plays up to its last
    /// fragment. Stored and listed as they are, once (the note beside each goes with it); one
    /// already listed (another worker made it again from the log, whole) is only removed.
    func recover() async {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: workDirectory.path)) ?? []
        for name in names where name.hasSuffix(".part.mp4") {
            let part = workDirectory.appendingPathComponent(name)
            let note = part.deletingPathExtension().appendingPathExtension("json")
            guard let data = try? Data(contentsOf: note), var asset = try? JSONDecoder.assets.decode(Asset.self, from: data) else {
                logger.warning("half-written recording without its note left alone", metadata: ["file": "\(name)"])
                continue
            }
            asset.size = (try? FileManager.default.attributesOfItem(atPath: part.path)[.size] as? Int) ?? 0
            if let listed = try? await shelf.index.asset(asset.id) {
                try? FileManager.default.removeItem(at: part)
                try? FileManager.default.removeItem(at: note)
                logger.info("half-written recording already listed whole; removed", metadata: ["location": "\(listed.location)"])
                continue
            }
            do {
                try await shelf.put(file: part, at: asset.location, contentType: asset.contentType)
                try await shelf.index.add(asset)
                try shelf.announce(asset)
                try? FileManager.default.removeItem(at: note)
                logger.info("recovered a half-written recording", metadata: ["location": "\(asset.location)"])
            } catch {
                logger.error("half-written recording not recovered", metadata: ["file": "\(name)", "error": "\(error)"])
            }
        }
    }
}

extension JSONDecoder {
    /// Dates as the API writes them.
    static var assets: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

/// One stream's MP4 recording: frames go to a thread of their own (`mp4.{id}`, an
/// `OwnerThread`), where files are written; a finished file goes to the store from there.
final class StreamMP4Recorder: SessionHandler, @unchecked Sendable {
    /// The recorder kind its progress is noted under.
    static let progressKind = "mp4"

    // @unchecked: the vars below are only touched by jobs on `owner`; the lets are set in `init`.
    let resumeOffset: Int64?
    private let resuming: RecordingProgress?
    private let progress: (any RecordingProgressStore)?
    /// Owns the file state below, and keeps the blocking writes off the cooperative pool.
    private let owner: OwnerThread
    private let streamID: StreamID
    private let sessionID: UInt64
    private let settings: MP4Worker.Settings
    private let workDirectory: URL
    private let shelf: AssetShelf
    private let logger: Logger
    private var tracks = RecordingTracks()
    private var file: MP4File?
    private var draft: Asset?
    private var shelving: [Task<Void, Never>] = []
    /// The last progress note being written: notes go out one after another, in order.
    private var noting: Task<Void, Never>?

    /// - Parameter resuming: the session's progress another worker noted (it did not finish the
    ///   file it names): the router feeds this recorder from that file's first frame.
    init(streamID: StreamID, sessionID: UInt64, settings: MP4Worker.Settings, workDirectory: URL, shelf: AssetShelf,
         progress: (any RecordingProgressStore)? = nil, resuming: RecordingProgress? = nil, logger: Logger) {
        self.progress = progress
        self.resuming = resuming
        resumeOffset = resuming?.offset
        self.streamID = streamID
        self.sessionID = sessionID
        self.settings = settings
        self.workDirectory = workDirectory
        self.shelf = shelf
        self.logger = logger
        owner = OwnerThread(name: "mp4.\(streamID)")
    }

    func offer(_ frame: MediaFrame) {
        offer(frame, offset: nil)
    }

    func offer(_ frame: MediaFrame, at offset: Int64) {
        offer(frame, offset: offset)
    }

    private func offer(_ frame: MediaFrame, offset: Int64?) {
        owner.submit { [self] in
            do {
                try take(frame, offset: offset)
            } catch {
                logger.warning("frame not recorded to MP4", metadata: ["stream": "\(streamID)", "error": "\(error)"])
            }
        }
    }

    /// Finishes the file being written and waits until it is stored; the thread ends.
    func finish() async {
        let tasks = (try? await owner.run { [self] () -> [Task<Void, Never>] in
            close()
            return shelving
        }) ?? []
        owner.stop()
        for task in tasks { await task.value }
    }

    /// In a cluster the file being written is left as a crash would leave it (its part file and
    /// note stay for this worker's next recovery): the worker taking the stream makes it again,
    /// whole, from the noted progress. On one machine it is finished, as at the session's end.
    func handOver() async {
        guard progress != nil else { return await finish() }
        let tasks = (try? await owner.run { [self] () -> [Task<Void, Never>] in
            file = nil
            draft = nil
            return shelving + [noting].compactMap { $0 }
        }) ?? []
        owner.stop()
        for task in tasks { await task.value }
    }

    /// Runs on `owner`.
    private func take(_ frame: MediaFrame, offset: Int64?) throws {
        switch try tracks.take(frame) {
        case .reconfigured:
            close()  // a new configuration starts a new file at the next keyframe
        case .sample(let track, let sample):
            if track == 0 {
                if sample.isSync, let current = file, sample.dts - current.startDTS >= Int64(settings.segmentSeconds * 1000) {
                    close()
                }
                if file == nil {
                    guard sample.isSync else { return }
                    try open(at: sample.dts, offset: offset, origin: frame.timeline?.origin)
                }
            }
            try file?.add(sample, track: track)
        case .nothing:
            break
        }
    }

    /// A new file at a keyframe, with a note beside it for recovery after a crash, and (in a
    /// cluster) its first frame's position noted for a worker taking the stream over.
    /// - Parameters:
    ///   - offset: the keyframe's offset in the stream's partition; nil on one machine.
    ///   - origin: the session's timeline origin (Unix ms): the file starts at `origin + dts`,
    ///     the same for every worker that makes it.
    private func open(at dts: Int64, offset: Int64?, origin: Int64?) throws {
        guard !tracks.tracks.isEmpty else { return }
        let name = "\(streamID)-\(HexSessionID.text(sessionID))-\(dts)"
        let start = origin.flatMap { MediaTimeline.originRange.contains($0) ? Date(timeIntervalSince1970: (Double($0) + Double(dts)) / 1000) : nil }
            ?? Date()
        var draft = Asset(id: Asset.recordingID(name: name), kind: .mp4, channelID: settings.channelID, streamID: streamID,
                          sessionID: sessionID, start: start, duration: 0, size: 0,
                          location: Asset.location(channel: settings.channelID, kind: .mp4, day: start, file: "\(name).mp4"),
                          contentType: "video/mp4")
        if let resuming, resuming.offset == offset, let begun = resuming.asset, begun.id == draft.id {
            // The file another worker began: listed as it would have listed it.
            draft = begun
        }
        let part = workDirectory.appendingPathComponent("\(name).part.mp4")
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        try encoder.encode(draft).write(to: part.deletingPathExtension().appendingPathExtension("json"))
        file = try MP4File(partURL: part, tracks: tracks.tracks, startDTS: dts)
        self.draft = draft
        logger.info("recording an MP4 file", metadata: ["stream": "\(streamID)", "file": "\(name)",
                                                        "offset": "\(offset.map(String.init) ?? "-")"])
        if let offset { note(RecordingProgress(sessionID: sessionID, offset: offset, asset: draft)) }
    }

    /// Notes where the file just opened starts, once the file before it is listed: the noted
    /// file is always the oldest one not listed yet. Runs on `owner`.
    private func note(_ noted: RecordingProgress) {
        guard let progress else { return }
        let (previous, listed) = (noting, shelving.last)
        let (streamID, logger) = (streamID, logger)
        noting = Task {
            await previous?.value
            await listed?.value
            do {
                try await progress.note(noted, of: streamID, kind: Self.progressKind)
            } catch {
                logger.warning("recording progress not noted", metadata: ["stream": "\(streamID)", "error": "\(error)"])
            }
        }
    }

    /// Finishes the current file, if any, and hands it to the store. Runs on `owner`.
    private func close() {
        guard let file, var asset = draft else { return }
        self.file = nil
        draft = nil
        let note = file.partURL.deletingPathExtension().appendingPathExtension("json")
        let finished = workDirectory.appendingPathComponent(asset.location.split(separator: "/").last.map(String.init) ?? "recording.mp4")
        do {
            _ = try file.finish(into: finished)
        } catch {
            // The part file (fragmented, playable) stays with its note, for recovery.
            logger.error("MP4 not finished; the fragmented file stays", metadata: ["stream": "\(streamID)", "error": "\(error)"])
            return
        }
        try? FileManager.default.removeItem(at: note)
        asset.duration = Double(file.videoMilliseconds) / 1000
        asset.size = (try? FileManager.default.attributesOfItem(atPath: finished.path)[.size] as? Int) ?? 0
        let shelf = shelf
        let logger = logger
        // Earlier files were stored long ago; only the last few can still be in flight.
        shelving = shelving.suffix(8)
        shelving.append(Task {
            do {
                try await shelf.put(file: finished, at: asset.location, contentType: asset.contentType)
                try await shelf.index.add(asset)
                // Listed before (a dead worker's half-written file, recovered at its restart):
                // the listing gets this whole file's size and duration.
                try await shelf.index.update(asset)
                try shelf.announce(asset)
            } catch {
                logger.error("MP4 not stored", metadata: ["location": "\(asset.location)", "error": "\(error)"])
            }
        })
    }
}
