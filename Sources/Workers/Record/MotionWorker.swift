import CFFmpeg
import Events
import Foundation
import Logging
import Media
import NIOConcurrencyHelpers
import ServiceLifecycle
import State

/// Watches every live stream whose channel has `motion.enabled`: every picture is decoded, and a
/// few times a second a 160×90 grey copy is compared with the last one. When more than
/// `pixelPercent` % of pixels changed by more than `pixelDiff`, `motion.started` goes out and a
/// clip starts, from the keyframe before the motion (the GOP in hand); it ends when `holdSeconds`
/// pass without motion or after `maxSeconds`. The clip (kind `motion-clip`) and a JPEG of the
/// moment motion was seen (kind `motion-snapshot`) are stored and listed, then `motion.ended`
/// names them.
public final class MotionWorker: Service, Sendable {
    public struct Settings: Sendable, Hashable {
        public var channelID: String
        public var motion: StreamChannel.Motion

        public init(channelID: String, motion: StreamChannel.Motion) {
            self.channelID = channelID
            self.motion = motion
        }

        /// The channel's settings for this worker; nil when the channel has it off.
        public init?(_ channel: StreamChannel) {
            guard channel.motion.enabled else { return nil }
            self.init(channelID: channel.streamName, motion: channel.motion)
        }
    }

    private let workDirectory: URL
    private let router: SessionRouter<MotionWatcher>

    /// - Parameter channels: where each stream's settings come from, read once per session.
    public init(bus: any EventBus, feed: WorkerFeed = .fromNow, index: any AssetIndex, store: any AssetStore, workDirectory: URL,
                channels: any ChannelDirectory, logger: Logger) {
        let shelf = AssetShelf(bus: bus, index: index, store: store, logger: logger)
        self.workDirectory = workDirectory
        router = SessionRouter(bus: bus, feed: feed) { id, session in
            await channels.channel(of: id, logger: logger).flatMap(Settings.init).map {
                MotionWatcher(streamID: id, sessionID: session, settings: $0, workDirectory: workDirectory, shelf: shelf, logger: logger)
            }
        }
    }

    public func run() async throws {
        try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
        try await router.run()
    }
}

/// One stream's motion detection and clips, on a thread of its own (`motion.{id}`, an
/// `OwnerThread`).
final class MotionWatcher: SessionHandler, @unchecked Sendable {
    // @unchecked: the vars below are only touched by jobs on `owner`; the lets are set in `init`.
    private struct Event {
        var clip: MP4File
        var startDTS: Int64
        var lastMotionDTS: Int64
        var changedPercent: Double
        var snapshot: Asset?
        var clipAsset: Asset
    }

    /// Owns the decoder, detector and clips, and keeps FFmpeg's blocking calls off the cooperative pool.
    private let owner: OwnerThread
    private let streamID: StreamID
    private let sessionID: UInt64
    private let settings: MotionWorker.Settings
    private let workDirectory: URL
    private let shelf: AssetShelf
    private let logger: Logger
    private var tracks = RecordingTracks()
    private var decoder: VideoDecoder?
    private let picture: Frame?
    private let scaler: GreyScaler?
    private var detector: MotionDetector
    private var lastAnalyzedDTS: Int64?
    /// The samples since the last keyframe: a clip starts with them.
    private var gop: [(track: Int, sample: MP4File.Pending)] = []
    private var event: Event?
    private var pending: [Task<Void, Never>] = []

    /// Grey pictures compared per second, at most.
    static let analysesPerSecond: Int64 = 5

    init(streamID: StreamID, sessionID: UInt64, settings: MotionWorker.Settings, workDirectory: URL, shelf: AssetShelf,
         logger: Logger) {
        self.streamID = streamID
        self.sessionID = sessionID
        self.settings = settings
        self.workDirectory = workDirectory
        self.shelf = shelf
        self.logger = logger
        picture = try? Frame()
        scaler = try? GreyScaler()
        detector = MotionDetector(pixelDiff: settings.motion.pixelDiff, pixelPercent: settings.motion.pixelPercent)
        owner = OwnerThread(name: "motion.\(streamID)")
    }

    func offer(_ frame: MediaFrame) {
        owner.submit { [self] in
            do {
                try take(frame)
            } catch {
                logger.warning("frame not watched for motion", metadata: ["stream": "\(streamID)", "error": "\(error)"])
            }
        }
    }

    func finish() async {
        let tasks = (try? await owner.run { [self] () -> [Task<Void, Never>] in
            if let event { end(event, at: event.lastMotionDTS) }
            event = nil
            return pending
        }) ?? []
        owner.stop()
        for task in tasks { await task.value }
    }

    /// Runs on `owner`.
    private func take(_ frame: MediaFrame) throws {
        if frame.kind == .video, frame.isSequenceHeader, let info = try? VideoTagInfo(body: frame.payload) {
            decoder = try VideoDecoder(codec: info.codec, configuration: Array(frame.payload.readableBytesView.dropFirst(info.dataOffset)),
                                       threads: 1)
        }
        switch try tracks.take(frame) {
        case .reconfigured:
            if let event { end(event, at: event.lastMotionDTS) }
            event = nil
            gop.removeAll()
        case .sample(let track, let sample):
            if track == 0, sample.isSync { gop.removeAll() }
            gop.append((track, sample))
            try event?.clip.add(sample, track: track)
            if track == 0 { try watch(frame, sample: sample) }
        case .nothing:
            break
        }
    }

    private func watch(_ frame: MediaFrame, sample: MP4File.Pending) throws {
        guard let decoder, let picture, let scaler else { return }
        let info = try VideoTagInfo(body: frame.payload)
        var luma: [UInt8]?
        var jpegSource: Frame?
        try decoder.decode(frame.payload.readableBytesView.dropFirst(info.dataOffset), pts: frame.pts, dts: frame.dts,
                           keyframe: info.isKeyframe, into: picture) { decoded in
            if let last = lastAnalyzedDTS, frame.dts - last < 1000 / Self.analysesPerSecond { return }
            lastAnalyzedDTS = frame.dts
            luma = try scaler.luma(of: decoded)
            if event == nil { jpegSource = try? Self.copy(decoded) }
        }
        guard let luma, let percent = detector.changedPercent(luma) else { return }
        let motion = detector.isMotion(percent)
        if var current = event {
            if motion { current.lastMotionDTS = frame.dts }
            let quiet = frame.dts - current.lastMotionDTS >= Int64(settings.motion.holdSeconds) * 1000
            let long = frame.dts - current.startDTS >= Int64(settings.motion.maxSeconds) * 1000
            if quiet || long {
                end(current, at: frame.dts)
                event = nil
            } else {
                event = current
            }
        } else if motion {
            try begin(at: frame.dts, percent: percent, picture: jpegSource)
        }
    }

    /// Motion seen: `motion.started`, the clip from the GOP in hand, the picture of the moment.
    private func begin(at dts: Int64, percent: Double, picture: Frame?) throws {
        guard let first = gop.first(where: { $0.track == 0 && $0.sample.isSync }) else { return }
        let name = "\(streamID)-\(HexSessionID.text(sessionID))-\(first.sample.dts)"
        let clip = try MP4File(partURL: workDirectory.appendingPathComponent("\(name).motion.part.mp4"), tracks: tracks.tracks,
                               startDTS: first.sample.dts)
        for (track, sample) in gop { try clip.add(sample, track: track) }
        let now = Date()
        let clipAsset = Asset(kind: .motionClip, channelID: settings.channelID, streamID: streamID, sessionID: sessionID, start: now,
                              duration: 0, size: 0,
                              location: Asset.location(channel: settings.channelID, kind: .motionClip, day: now, file: "\(name).mp4"),
                              contentType: "video/mp4")
        var snapshot: Asset?
        if let picture, let jpeg = try? JPEGEncoder(width: picture.width, height: picture.height).encode(picture) {
            let asset = Asset(kind: .motionSnapshot, channelID: settings.channelID, streamID: streamID, sessionID: sessionID, start: now,
                              duration: 0, size: jpeg.count,
                              location: Asset.location(channel: settings.channelID, kind: .motionSnapshot, day: now,
                                                       file: "\(streamID)-\(HexSessionID.text(sessionID))-\(dts).jpg"),
                              contentType: "image/jpeg")
            snapshot = asset
            let shelf = shelf
            pending.append(Task { await shelf.shelve(jpeg, as: asset) })
        }
        event = Event(clip: clip, startDTS: first.sample.dts, lastMotionDTS: dts, changedPercent: percent, snapshot: snapshot,
                      clipAsset: clipAsset)
        announce(.motionStarted(MotionEvent(streamID: streamID, sessionID: sessionID, changedPercent: percent)))
        logger.info("motion started", metadata: ["stream": "\(streamID)", "changed": "\(Int(percent))%"])
    }

    /// The clip finished and stored, then `motion.ended`.
    private func end(_ event: Event, at dts: Int64) {
        var clipAsset = event.clipAsset
        let finished = workDirectory.appendingPathComponent(clipAsset.location.split(separator: "/").last.map(String.init) ?? "clip.mp4")
        do {
            _ = try event.clip.finish(into: finished)
        } catch {
            logger.error("motion clip not finished", metadata: ["stream": "\(streamID)", "error": "\(error)"])
            return
        }
        clipAsset.duration = Double(event.clip.videoMilliseconds) / 1000
        clipAsset.size = (try? FileManager.default.attributesOfItem(atPath: finished.path)[.size] as? Int) ?? 0
        let ended = MotionEvent(streamID: streamID, sessionID: sessionID, changedPercent: event.changedPercent,
                                durationSeconds: clipAsset.duration, clipAssetID: clipAsset.id, snapshotAssetID: event.snapshot?.id)
        let shelf = shelf
        let logger = logger
        let announce = announce
        pending = pending.suffix(8)
        pending.append(Task { [clipAsset] in
            do {
                try await shelf.put(file: finished, at: clipAsset.location, contentType: clipAsset.contentType)
                try await shelf.index.add(clipAsset)
                try shelf.announce(clipAsset)
            } catch {
                logger.error("motion clip not stored", metadata: ["location": "\(clipAsset.location)", "error": "\(error)"])
            }
            announce(.motionEnded(ended))
        })
        logger.info("motion ended", metadata: ["stream": "\(streamID)", "seconds": "\(clipAsset.duration)"])
    }

    private func announce(_ event: LifecycleEvent) {
        do {
            try shelf.bus.publish(BusRecord(key: event.key, value: .lifecycle(event)), to: .streamLifecycle)
        } catch {
            logger.error("motion event not published", metadata: ["type": "\(event.type)", "error": "\(error)"])
        }
    }

    /// A picture of our own: the decoder reuses its frame.
    private static func copy(_ frame: Frame) throws -> Frame {
        let copy = try Frame()
        try check(av_frame_ref(copy.pointer, frame.pointer), "keeping a picture")
        return copy
    }
}
