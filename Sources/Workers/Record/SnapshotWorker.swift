import Events
import Foundation
import Logging
import Media
import NIOConcurrencyHelpers
import Packager
import ServiceLifecycle
import State

/// Takes a JPEG of every live stream whose channel asks for snapshots, every
/// `record.snapshots.intervalSeconds` (at the first keyframe past the interval, decoded on its
/// own), stores it, lists it and announces it (`asset.created` on `sluice.assets`). The newest
/// one is what `/{id}/snapshot.jpg` serves. From the same decoded keyframes it makes the
/// channel's thumbnail track (`trickPlay.thumbnails`, `ThumbnailSprites`): sprites stored and
/// listed (not announced), deleted as they leave the DVR window.
public final class SnapshotWorker: Service, Sendable {
    public struct Settings: Sendable, Hashable {
        public var channelID: String
        /// Seconds between snapshots; nil when the channel takes none.
        public var snapshotSeconds: Double?
        /// The thumbnail track (`trickPlay.thumbnails`); nil when the channel has it off.
        public var thumbnails: ThumbnailLayout?
        /// The DVR window, seconds: sprites that leave it are deleted. Nil: kept for the
        /// channel's retention.
        public var dvrWindowSeconds: Double?

        public init(channelID: String, intervalSeconds: Double?, thumbnails: ThumbnailLayout? = nil,
                    dvrWindowSeconds: Double? = nil) {
            self.channelID = channelID
            snapshotSeconds = intervalSeconds
            self.thumbnails = thumbnails
            self.dvrWindowSeconds = dvrWindowSeconds
        }

        /// The channel's settings for this worker; nil when it takes neither snapshots nor thumbnails.
        public init?(_ channel: StreamChannel) {
            let snapshots = channel.record.snapshots
            let thumbnails = TrickPlayConfiguration(channel: channel).thumbnails
            guard snapshots.enabled || thumbnails != nil else { return nil }
            self.init(channelID: channel.streamName, intervalSeconds: snapshots.enabled ? Double(snapshots.intervalSeconds) : nil,
                      thumbnails: thumbnails, dvrWindowSeconds: channel.dvr.windowSeconds)
        }
    }

    private let router: SessionRouter<StreamSnapshotter>

    /// - Parameter channels: where each stream's settings come from, read once per session.
    public init(bus: any EventBus, feed: WorkerFeed = .fromNow, index: any AssetIndex, store: any AssetStore,
                channels: any ChannelDirectory, logger: Logger) {
        let assets = AssetShelf(bus: bus, index: index, store: store, logger: logger)
        router = SessionRouter(bus: bus, feed: feed) { id, session in
            await channels.channel(of: id, logger: logger).flatMap(Settings.init).map {
                StreamSnapshotter(streamID: id, sessionID: session, settings: $0, assets: assets, logger: logger)
            }
        }
    }

    public func run() async throws {
        try await router.run()
    }
}

/// One stream's snapshots and thumbnails: keyframes due for either go to a thread of their own
/// (`snapshot.{id}`, an `OwnerThread`), where each is decoded once, on its own, and made into the
/// snapshot JPEG and the tiles it is due for. A keyframe that arrives while the previous one is
/// still being made is skipped (its tiles are left to the next), so a slow store never builds a queue.
final class StreamSnapshotter: SessionHandler, @unchecked Sendable {
    // @unchecked: `decoder`, `configuration`, `encoder` and `sprites` are only touched by jobs on `owner`; `state` is locked.
    /// Owns the decoder and encoders, and keeps FFmpeg's blocking calls off the cooperative pool.
    private let owner: OwnerThread
    let streamID: StreamID
    let sessionID: UInt64
    let settings: SnapshotWorker.Settings
    let assets: AssetShelf
    let logger: Logger
    private var configuration: (codec: VideoCodec, record: [UInt8])?
    private var decoder: VideoDecoder?
    private var encoder: JPEGEncoder?
    private let sprites: ThumbnailSprites?

    /// What one keyframe is taken for.
    struct Job {
        var snapshot: Bool
        var tiles: ClosedRange<Int64>?
    }

    struct State {
        var lastTaken: Int64?
        var busy = false
        var tiles: ThumbnailClock?
        /// The sprite this worker stored last: a new one is listed (or, listed by another worker,
        /// replaced), and sprites past the DVR window deleted.
        var storedSprite: Int64?
    }

    /// Checked by `offer` on the router's task, cleared on `owner` or by the shelving task; so a lock.
    let state: NIOLockedValueBox<State>

    init(streamID: StreamID, sessionID: UInt64, settings: SnapshotWorker.Settings, assets: AssetShelf, logger: Logger) {
        self.streamID = streamID
        self.sessionID = sessionID
        self.settings = settings
        self.assets = assets
        self.logger = logger
        sprites = settings.thumbnails.map(ThumbnailSprites.init)
        state = NIOLockedValueBox(State(tiles: settings.thumbnails.map(ThumbnailClock.init)))
        owner = OwnerThread(name: "snapshot.\(streamID)")
    }

    /// Nothing to wait for: a snapshot being made finishes on its own, then the thread ends.
    func finish() async { owner.stop() }

    func offer(_ frame: MediaFrame) {
        guard frame.kind == .video, let info = try? VideoTagInfo(body: frame.payload) else { return }
        if info.isSequenceHeader {
            let record = Array(frame.payload.readableBytesView.dropFirst(info.dataOffset))
            owner.submit { [self] in
                configuration = (info.codec, record)
                decoder = nil
            }
            return
        }
        guard info.isCodedFrame, info.isKeyframe, let job = claim(frame) else { return }
        let taken = owner.submit { [self] in make(job, from: frame, info: info) }
        if !taken { state.withLockedValue { $0.busy = false } }
    }

    /// The job `frame` is due for, marked busy; nil when it is due for nothing or one is running.
    private func claim(_ frame: MediaFrame) -> Job? {
        let interval = settings.snapshotSeconds.map { Int64($0 * 1000) }
        return state.withLockedValue { state -> Job? in
            guard !state.busy else { return nil }
            let snapshot = interval.map { interval in state.lastTaken.map { frame.dts - $0 >= interval } ?? true } ?? false
            let tiles = state.tiles?.due(origin: frame.timeline?.origin ?? 0, dts: frame.dts)
            guard snapshot || tiles != nil else { return nil }
            if snapshot { state.lastTaken = frame.dts }
            if let tiles { state.tiles?.filled(through: tiles.upperBound) }
            state.busy = true
            return Job(snapshot: snapshot, tiles: tiles)
        }
    }

    /// Decodes the keyframe once and makes what `job` asks; the storing goes on in a task. Runs on `owner`.
    private func make(_ job: Job, from frame: MediaFrame, info: VideoTagInfo) {
        var made: (snapshot: Data?, sprites: [ThumbnailSprites.Made]) = (nil, [])
        do {
            try decodePicture(of: frame, info: info) { [self] decoded in
                if job.snapshot {
                    if encoder?.width != decoded.width || encoder?.height != decoded.height {
                        encoder = try JPEGEncoder(width: decoded.width, height: decoded.height)
                    }
                    made.snapshot = try encoder?.encode(decoded)
                }
                if let tiles = job.tiles { made.sprites = try self.sprites?.place(decoded, tiles: tiles) ?? [] }
            }
        } catch {
            logger.warning("snapshot not taken", metadata: ["stream": "\(streamID)", "error": "\(error)"])
        }
        let snapshot = made.snapshot.map { jpeg in (jpeg, snapshotAsset(of: frame, size: jpeg.count)) }
        let sprites = made.sprites
        Task { [self] in
            if let (jpeg, asset) = snapshot { await assets.shelve(jpeg, as: asset) }
            // In order: a sprite left behind is stored whole before the next one is listed.
            for sprite in sprites { await store(sprite) }
            state.withLockedValue { $0.busy = false }
        }
    }

    private func snapshotAsset(of frame: MediaFrame, size: Int) -> Asset {
        Asset(kind: .snapshot, channelID: settings.channelID, streamID: streamID, sessionID: sessionID, start: Date(),
              duration: 0, size: size,
              location: Asset.location(channel: settings.channelID, kind: .snapshot, day: Date(),
                                       file: "\(streamID)-\(HexSessionID.text(sessionID))-\(frame.dts).jpg"),
              contentType: "image/jpeg")
    }

    /// Decodes one keyframe on its own and hands its picture to `take` once. Runs on `owner`.
    private func decodePicture(of frame: MediaFrame, info: VideoTagInfo, take: @escaping (Frame) throws -> Void) throws {
        guard let configuration else { throw FFmpegError("no decoder configuration yet", code: FFmpegError.invalid) }
        if decoder == nil {
            decoder = try VideoDecoder(codec: configuration.codec, configuration: configuration.record, threads: 1)
        }
        guard let decoder else { return }
        let picture = try Frame()
        var taken = false
        let once: (Frame) throws -> Void = { decoded in
            guard !taken else { return }
            taken = true
            try take(decoded)
        }
        defer { decoder.reset() }
        try decoder.decode(frame.payload.readableBytesView.dropFirst(info.dataOffset), pts: frame.pts, dts: frame.dts,
                           keyframe: true, into: picture, output: once)
        try decoder.flush(into: picture, output: once)
        guard taken else { throw FFmpegError("the keyframe gave no picture", code: FFmpegError.invalid) }
    }
}
