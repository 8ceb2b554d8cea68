import Dispatch
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

    /// A stream's MP4 settings; nil when its channel records none.
    public typealias SettingsLookup = @Sendable (StreamID) async -> Settings?

    private let shelf: AssetShelf
    private let workDirectory: URL
    private let logger: Logger
    private let router: SessionRouter<StreamMP4Recorder>

    /// - Parameter workDirectory: where files are written while they record.
    /// - Parameter joining: how to start on sessions under way (a cluster): a new file at the
    ///   first keyframe read, beside the files the previous worker stored.
    public init(bus: any EventBus, feed: WorkerFeed = .fromNow, joining: SessionJoining? = nil, index: any AssetIndex,
                store: any AssetStore, workDirectory: URL, logger: Logger, settings: @escaping SettingsLookup) {
        let shelf = AssetShelf(bus: bus, index: index, store: store, logger: logger)
        self.shelf = shelf
        self.workDirectory = workDirectory
        self.logger = logger
        router = SessionRouter(bus: bus, feed: feed, joining: joining) { id, session in
            await settings(id).map {
                StreamMP4Recorder(streamID: id, sessionID: session, settings: $0, workDirectory: workDirectory, shelf: shelf,
                                  logger: logger)
            }
        }
    }

    public func run() async throws {
        try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
        await recover()
        try await router.run()
    }

    /// Files a killed worker left recording: each is a fragmented MP4 that plays up to its last
    /// fragment. Stored and listed as they are, once (the note beside each goes with it).
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

/// One stream's MP4 recording: frames go to a queue of their own, where files are written; a
/// finished file goes to the store from there.
final class StreamMP4Recorder: SessionHandler, @unchecked Sendable {
    // @unchecked: everything below `queue` is only touched on it.
    private let queue: DispatchQueue
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

    init(streamID: StreamID, sessionID: UInt64, settings: MP4Worker.Settings, workDirectory: URL, shelf: AssetShelf,
         logger: Logger) {
        self.streamID = streamID
        self.sessionID = sessionID
        self.settings = settings
        self.workDirectory = workDirectory
        self.shelf = shelf
        self.logger = logger
        queue = DispatchQueue(label: "sluice.mp4.\(streamID)")
    }

    func offer(_ frame: MediaFrame) {
        queue.async { [self] in
            do {
                try take(frame)
            } catch {
                logger.warning("frame not recorded to MP4", metadata: ["stream": "\(streamID)", "error": "\(error)"])
            }
        }
    }

    /// Finishes the file being written and waits until it is stored.
    func finish() async {
        let tasks: [Task<Void, Never>] = await withCheckedContinuation { done in
            queue.async { [self] in
                close()
                done.resume(returning: shelving)
            }
        }
        for task in tasks { await task.value }
    }

    /// Runs on `queue`.
    private func take(_ frame: MediaFrame) throws {
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
                    try open(at: sample.dts)
                }
            }
            try file?.add(sample, track: track)
        case .nothing:
            break
        }
    }

    /// A new file at a keyframe, with a note beside it for recovery after a crash.
    private func open(at dts: Int64) throws {
        guard !tracks.tracks.isEmpty else { return }
        let name = "\(streamID)-\(HexSessionID.text(sessionID))-\(dts)"
        let now = Date()
        let draft = Asset(kind: .mp4, channelID: settings.channelID, streamID: streamID, sessionID: sessionID, start: now, duration: 0,
                          size: 0, location: Asset.location(channel: settings.channelID, kind: .mp4, day: now, file: "\(name).mp4"),
                          contentType: "video/mp4")
        let part = workDirectory.appendingPathComponent("\(name).part.mp4")
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        try encoder.encode(draft).write(to: part.deletingPathExtension().appendingPathExtension("json"))
        file = try MP4File(partURL: part, tracks: tracks.tracks, startDTS: dts)
        self.draft = draft
    }

    /// Finishes the current file, if any, and hands it to the store. Runs on `queue`.
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
                try shelf.announce(asset)
            } catch {
                logger.error("MP4 not stored", metadata: ["location": "\(asset.location)", "error": "\(error)"])
            }
        })
    }
}
