import Events
import Foundation
import Logging
import Media
import NIOConcurrencyHelpers
import ServiceLifecycle
import State

/// Takes a JPEG of every live stream whose channel asks for snapshots, every
/// `record.snapshots.intervalSeconds` (at the first keyframe past the interval, decoded on its
/// own), stores it, lists it and announces it (`asset.created` on `sluice.assets`). The newest
/// one is what `/{id}/snapshot.jpg` serves.
public final class SnapshotWorker: Service, Sendable {
    public struct Settings: Sendable, Hashable {
        public var channelID: String
        public var intervalSeconds: Double

        public init(channelID: String, intervalSeconds: Double) {
            self.channelID = channelID
            self.intervalSeconds = intervalSeconds
        }

        /// The channel's settings for this worker; nil when the channel has it off.
        public init?(_ channel: StreamChannel) {
            guard channel.record.snapshots.enabled else { return nil }
            self.init(channelID: channel.streamName, intervalSeconds: Double(channel.record.snapshots.intervalSeconds))
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

/// One stream's snapshots: keyframes past the interval go to a thread of their own
/// (`snapshot.{id}`, an `OwnerThread`), where they
/// are decoded one at a time and encoded as JPEG. A keyframe that arrives while the previous
/// snapshot is still being made is skipped, so a slow store never builds a queue.
final class StreamSnapshotter: SessionHandler, @unchecked Sendable {
    // @unchecked: `decoder`, `configuration` and `encoder` are only touched by jobs on `owner`; `state` is locked.
    /// Owns the decoder and encoder, and keeps FFmpeg's blocking calls off the cooperative pool.
    private let owner: OwnerThread
    private let streamID: StreamID
    private let sessionID: UInt64
    private let settings: SnapshotWorker.Settings
    private let assets: AssetShelf
    private let logger: Logger
    private var configuration: (codec: VideoCodec, record: [UInt8])?
    private var decoder: VideoDecoder?
    private var encoder: JPEGEncoder?
    /// Checked by `offer` on the router's task, cleared on `owner` or by the shelving task; so a lock.
    private let state = NIOLockedValueBox((lastTaken: Int64?.none, busy: false))

    init(streamID: StreamID, sessionID: UInt64, settings: SnapshotWorker.Settings, assets: AssetShelf, logger: Logger) {
        self.streamID = streamID
        self.sessionID = sessionID
        self.settings = settings
        self.assets = assets
        self.logger = logger
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
        guard info.isCodedFrame, info.isKeyframe else { return }
        let interval = Int64(settings.intervalSeconds * 1000)
        let due = state.withLockedValue { state -> Bool in
            guard !state.busy, state.lastTaken.map({ frame.dts - $0 >= interval }) ?? true else { return false }
            state = (frame.dts, true)
            return true
        }
        guard due else { return }
        let taken = owner.submit { [self] in
            let jpeg: Data
            do {
                jpeg = try picture(of: frame, info: info)
            } catch {
                state.withLockedValue { $0.busy = false }
                logger.warning("snapshot not taken", metadata: ["stream": "\(streamID)", "error": "\(error)"])
                return
            }
            let asset = Asset(kind: .snapshot, channelID: settings.channelID, streamID: streamID, sessionID: sessionID, start: Date(),
                              duration: 0, size: jpeg.count,
                              location: Asset.location(channel: settings.channelID, kind: .snapshot, day: Date(),
                                                       file: "\(streamID)-\(HexSessionID.text(sessionID))-\(frame.dts).jpg"),
                              contentType: "image/jpeg")
            let assets = assets
            let state = state
            Task {
                await assets.shelve(jpeg, as: asset)
                state.withLockedValue { $0.busy = false }
            }
        }
        if !taken { state.withLockedValue { $0.busy = false } }
    }

    /// Decodes one keyframe on its own and encodes it as JPEG. Runs on `owner`.
    private func picture(of frame: MediaFrame, info: VideoTagInfo) throws -> Data {
        guard let configuration else { throw FFmpegError("no decoder configuration yet", code: FFmpegError.invalid) }
        if decoder == nil {
            decoder = try VideoDecoder(codec: configuration.codec, configuration: configuration.record, threads: 1)
        }
        guard let decoder else { return Data() }
        let picture = try Frame()
        var jpeg: Data?
        let take: (Frame) throws -> Void = { [self] decoded in
            guard jpeg == nil else { return }
            if encoder?.width != decoded.width || encoder?.height != decoded.height {
                encoder = try JPEGEncoder(width: decoded.width, height: decoded.height)
            }
            jpeg = try encoder?.encode(decoded)
        }
        defer { decoder.reset() }
        try decoder.decode(frame.payload.readableBytesView.dropFirst(info.dataOffset), pts: frame.pts, dts: frame.dts,
                           keyframe: true, into: picture, output: take)
        try decoder.flush(into: picture, output: take)
        guard let jpeg else { throw FFmpegError("the keyframe gave no picture", code: FFmpegError.invalid) }
        return jpeg
    }
}
