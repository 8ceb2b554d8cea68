import Events
import Foundation
import Logging
import Media
import Packager
import ServiceLifecycle
import State

/// Records every live stream whose channel has `record.vod` as VOD HLS: MPEG-TS segments of
/// `record.vod.segmentSeconds` (cut at keyframes) and one playlist per publish session, which
/// grows while the stream is live (`EXT-X-PLAYLIST-TYPE:EVENT`) and gets `EXT-X-ENDLIST` when it
/// stops. The recording is listed (kind `vod-playlist`) from its first segment, so it plays at
/// `/vod/{session}/index.m3u8` while live; `asset.created` goes out when it is finished.
///
/// In a cluster (`progress` set) the position in the log of each segment's first frame is noted
/// once the segments before it are stored and listed, so a worker that takes the stream over
/// (its previous worker died) makes the unfinished segment again from the log under the same
/// number, and the playlist goes on without a gap. Segments and playlist live in the asset store,
/// which the workers of a cluster share (S3).
public final class VODWorker: Service, Sendable {
    public struct Settings: Sendable, Hashable {
        public var channelID: String
        public var segmentSeconds: Double

        public init(channelID: String, segmentSeconds: Double) {
            self.channelID = channelID
            self.segmentSeconds = segmentSeconds
        }

        /// The channel's settings for this worker; nil when the channel has it off.
        public init?(_ channel: StreamChannel) {
            guard channel.record.vod.enabled else { return nil }
            self.init(channelID: channel.streamName, segmentSeconds: Double(channel.record.vod.segmentSeconds))
        }
    }

    private let router: SessionRouter<VODRecorder>

    /// - Parameter joining: how to start on sessions under way (a cluster): a session another
    ///   worker recorded part of goes on in the same playlist: from the segment it did not
    ///   finish with `progress`, else after a discontinuity.
    /// - Parameter progress: where each stream's recording stands in the log (a cluster); nil on
    ///   one machine.
    public init(bus: any EventBus, feed: WorkerFeed = .fromNow, joining: SessionJoining? = nil,
                progress: (any RecordingProgressStore)? = nil, index: any AssetIndex, store: any AssetStore,
                channels: any ChannelDirectory, logger: Logger) {
        let shelf = AssetShelf(bus: bus, index: index, store: store, logger: logger)
        router = SessionRouter(bus: bus, feed: feed, joining: joining, logger: logger) { id, session in
            // Each session's settings from its channel; none (not recorded) when it records no VOD.
            guard let settings = await channels.channel(of: id, logger: logger).flatMap(Settings.init) else { return nil }
            let noted = try? await progress?.progress(of: id, kind: VODRecorder.progressKind)
            return VODRecorder(streamID: id, sessionID: session, settings: settings, shelf: shelf, progress: progress,
                               resuming: noted?.sessionID == session ? noted : nil, logger: logger)
        }
    }

    /// At shutdown, what is recorded so far is closed as a finished recording.
    public func run() async throws {
        try await router.run()
    }
}

/// One publish session's VOD recording. Its router calls it from one loop, in order, so its
/// state needs no lock.
final class VODRecorder: SessionHandler, @unchecked Sendable {
    /// The recorder kind its progress is noted under.
    static let progressKind = "vod"

    // @unchecked: touched only by the router's loop, one call at a time.
    let resumeOffset: Int64?
    private let resuming: RecordingProgress?
    private let progress: (any RecordingProgressStore)?
    /// Whether the first segment's start is noted.
    private var notedFirst = false
    /// The offset of the newest video keyframe: where a segment completed now began (the
    /// segmenter hands a segment out at the frame after the keyframe that ends it).
    private var keyframeOffset: Int64?
    private let streamID: StreamID
    private let sessionID: UInt64
    private let settings: VODWorker.Settings
    private let shelf: AssetShelf
    private let logger: Logger
    private var segmenter: TSSegmenter
    /// `{channel}/vod-playlist/{YYYY}/{MM}/{DD}/{session}`: the playlist and segments go in it.
    private var folder: String
    private var listed: [MediaPlaylist.Segment] = []
    /// Added to the segmenter's numbers: past the segments an earlier worker stored.
    private var numbering = 0
    private var resumed = false
    private var bytes = 0
    private var asset: Asset?
    /// A segment could not be stored: the next one starts after a discontinuity.
    private var gap = false

    /// - Parameter resuming: the session's progress another worker noted: the router feeds this
    ///   recorder from the first frame of the segment it did not finish.
    init(streamID: StreamID, sessionID: UInt64, settings: VODWorker.Settings, shelf: AssetShelf,
         progress: (any RecordingProgressStore)? = nil, resuming: RecordingProgress? = nil, logger: Logger) {
        self.progress = progress
        self.resuming = resuming
        resumeOffset = resuming?.segment == nil ? nil : resuming?.offset
        self.streamID = streamID
        self.sessionID = sessionID
        self.settings = settings
        self.shelf = shelf
        self.logger = logger
        segmenter = TSSegmenter(segmentSeconds: settings.segmentSeconds)
        folder = Asset.location(channel: settings.channelID, kind: .vodPlaylist, day: Date(), file: HexSessionID.text(sessionID))
    }

    func offer(_ frame: MediaFrame) async {
        await take(frame, offset: nil)
    }

    func offer(_ frame: MediaFrame, at offset: Int64) async {
        await take(frame, offset: offset)
    }

    private func take(_ frame: MediaFrame, offset: Int64?) async {
        if !resumed { await resume() }
        if !notedFirst, let offset {
            notedFirst = true
            await note(offset, segment: numbering)
        }
        if frame.kind == .video, frame.isKeyframe, !frame.isConfiguration { keyframeOffset = offset }
        do {
            let segments = try segmenter.append(frame)
            for segment in segments { await keep(segment) }
            if let last = segments.last, let start = keyframeOffset ?? offset {
                await note(start, segment: last.sequence + numbering + 1)
            }
        } catch {
            logger.warning("frame not recorded", metadata: ["stream": "\(streamID)", "error": "\(error)"])
        }
    }

    /// Notes that segment `segment` starts at `offset`: every segment before it is stored and
    /// listed.
    private func note(_ offset: Int64, segment: Int) async {
        guard let progress else { return }
        do {
            try await progress.note(RecordingProgress(sessionID: sessionID, offset: offset, asset: asset, segment: segment),
                                    of: streamID, kind: Self.progressKind)
        } catch {
            logger.warning("recording progress not noted", metadata: ["stream": "\(streamID)", "error": "\(error)"])
        }
    }

    /// The stream goes on at another worker: what is recorded is stored and listed, the playlist
    /// stays open for it to go on. (The noted progress stays at the unfinished segment's start: in
    /// a cluster the next worker makes that segment again, whole, under the same number.)
    func handOver() async {
        for segment in segmenter.finish() { await keep(segment) }
    }

    /// A session another worker began recording (it died, or the group moved the stream): its
    /// playlist goes on, from the segment the noted progress names (the router feeds this
    /// recorder from that segment's first frame: no gap), else after a discontinuity with
    /// segments numbered past its own.
    private func resume() async {
        resumed = true
        guard let earlier = try? await shelf.index.asset(.vodPlaylist, session: sessionID),
              let text = try? await shelf.store.get(earlier.location) else { return }
        let segments = VODPlaylistText.segments(String(decoding: text, as: UTF8.self))
        folder = String(earlier.location.dropLast("/index.m3u8".count))
        asset = earlier
        bytes = max(0, earlier.size - text.count)
        if let next = resuming?.segment {
            // Segments from `next` on are made again (one may be half stored).
            listed = segments.filter { Int($0.uri.dropLast(3)).map { $0 < next } ?? true }
            numbering = next
            logger.info("VOD recording goes on from the log", metadata: ["stream": "\(streamID)", "segment": "\(next)"])
            return
        }
        guard !segments.isEmpty else { return }
        listed = segments
        numbering = (segments.compactMap { Int($0.uri.dropLast(3)) }.max() ?? -1) + 1
        gap = true
        logger.info("VOD recording goes on", metadata: ["stream": "\(streamID)", "segments": "\(segments.count)"])
    }

    /// The last segment, the playlist with `EXT-X-ENDLIST`, and `asset.created`.
    func finish() async {
        for segment in segmenter.finish() { await keep(segment) }
        guard !listed.isEmpty else { return }
        await writePlaylist(ended: true)
        guard let asset else { return }
        do {
            try shelf.announce(asset)
            logger.info("VOD recording finished", metadata: ["stream": "\(streamID)", "seconds": "\(Int(asset.duration))"])
        } catch {
            logger.error("VOD recording not announced", metadata: ["stream": "\(streamID)", "error": "\(error)"])
        }
    }

    /// Stores a segment, then the playlist that lists it; lists the recording with its first segment.
    private func keep(_ segment: TSSegmenter.Segment) async {
        let name = "\(segment.sequence + numbering).ts"
        do {
            try await shelf.put(Data(segment.bytes.readableBytesView), at: "\(folder)/\(name)", contentType: "video/mp2t")
        } catch {
            logger.error("VOD segment not stored", metadata: ["stream": "\(streamID)", "segment": "\(name)", "error": "\(error)"])
            gap = true
            return
        }
        listed.append(MediaPlaylist.Segment(uri: name, duration: segment.duration, discontinuity: segment.discontinuity || gap))
        gap = false
        bytes += segment.bytes.readableBytes
        await writePlaylist(ended: false)
    }

    private func writePlaylist(ended: Bool) async {
        let longest = listed.map(\.duration).max() ?? 1
        // EXTINF rounded to the nearest second must not exceed the target (RFC 8216 §4.3.3.1).
        var playlist = MediaPlaylist(version: 3, targetDuration: max(1, Int(longest.rounded())), mediaSequence: 0,
                                     segments: listed, endList: ended)
        playlist.playlistType = "EVENT"
        let text = Data(playlist.render().utf8)
        let location = "\(folder)/index.m3u8"
        let duration = listed.reduce(0) { $0 + $1.duration }
        do {
            try await shelf.put(text, at: location, contentType: "application/vnd.apple.mpegurl")
            if var listedAsset = asset {
                listedAsset.duration = duration
                listedAsset.size = bytes + text.count
                try await shelf.index.update(listedAsset)
                asset = listedAsset
            } else {
                let made = Asset(kind: .vodPlaylist, channelID: settings.channelID, streamID: streamID, sessionID: sessionID,
                                 start: Date().addingTimeInterval(-duration), duration: duration, size: bytes + text.count,
                                 location: location, contentType: "application/vnd.apple.mpegurl")
                try await shelf.index.add(made)
                asset = made
            }
        } catch {
            logger.error("VOD playlist not stored", metadata: ["stream": "\(streamID)", "error": "\(error)"])
        }
    }
}

/// Reads back the segments of a playlist `VODRecorder` wrote (its own output: `#EXTINF`,
/// `#EXT-X-DISCONTINUITY` and segment names; other tags are passed over).
enum VODPlaylistText {
    static func segments(_ text: String) -> [MediaPlaylist.Segment] {
        var segments: [MediaPlaylist.Segment] = []
        var duration: Double?
        var discontinuity = false
        for line in text.split(whereSeparator: \.isNewline).prefix(100_000) {
            if line.hasPrefix("#EXTINF:") {
                duration = Double(line.dropFirst(8).prefix { $0 != "," })
            } else if line == "#EXT-X-DISCONTINUITY" {
                discontinuity = true
            } else if !line.hasPrefix("#"), let seconds = duration, seconds.isFinite, seconds >= 0 {
                segments.append(MediaPlaylist.Segment(uri: String(line), duration: seconds, discontinuity: discontinuity))
                duration = nil
                discontinuity = false
            }
        }
        return segments
    }
}
