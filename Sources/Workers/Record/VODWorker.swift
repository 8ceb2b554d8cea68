import Events
import Foundation
import Logging
import Media
import NIOConcurrencyHelpers
import Packager
import ServiceLifecycle
import State

/// Records every live stream whose channel has `record.vod` as VOD HLS: MPEG-TS segments of
/// `record.vod.segmentSeconds` (cut at keyframes) and one playlist per publish session, which
/// grows while the stream is live (`EXT-X-PLAYLIST-TYPE:EVENT`) and gets `EXT-X-ENDLIST` when it
/// stops. The recording is listed (kind `vod-playlist`) from its first segment, so it plays at
/// `/vod/{session}/index.m3u8` while live; `asset.created` goes out when it is finished.
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

    /// A stream's VOD settings; nil when its channel records none.
    public typealias SettingsLookup = @Sendable (StreamID) async -> Settings?

    private struct Recording: Sendable {
        var settings: Settings
        var segmenter: TSSegmenter
        /// `{channel}/vod-playlist/{YYYY}/{MM}/{DD}/{session}`: the playlist and segments go in it.
        var folder: String
        var listed: [MediaPlaylist.Segment] = []
        var bytes = 0
        var asset: Asset?
        /// A segment could not be stored: the next one starts after a discontinuity.
        var gap = false
    }

    private struct Stream: Sendable {
        var sessionID: UInt64
        var recording: Recording?
    }

    private let subscription: BusSubscription
    private let settings: SettingsLookup
    private let shelf: AssetShelf
    private let logger: Logger
    /// Touched only by `run()`'s one loop; locked so the worker stays `Sendable`.
    private let streams = NIOLockedValueBox([StreamID: Stream]())

    public init(bus: any EventBus, index: any AssetIndex, store: any AssetStore, logger: Logger,
                settings: @escaping SettingsLookup) {
        subscription = bus.subscribe(to: .mediaSource, from: .end)
        self.settings = settings
        shelf = AssetShelf(bus: bus, index: index, store: store, logger: logger)
        self.logger = logger
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            for try await delivery in self.subscription {
                guard case .frame(let frame) = delivery.record.value, frame.rendition.isEmpty,
                      let id = StreamID(delivery.record.key) else { continue }
                await self.handle(frame, of: id)
            }
        }
        // Shutting down: what is recorded so far is closed as a finished recording.
        let open = streams.withLockedValue { streams in
            defer { streams.removeAll() }
            return streams
        }
        for (id, stream) in open {
            if var recording = stream.recording { await finish(&recording, of: id, session: stream.sessionID) }
        }
    }

    func handle(_ frame: MediaFrame, of id: StreamID) async {
        var stream = streams.withLockedValue { $0[id] }
        if frame.kind == .end {
            guard let ended = stream, ended.sessionID == frame.sessionID else { return }
            streams.withLockedValue { $0[id] = nil }
            if var recording = ended.recording { await finish(&recording, of: id, session: ended.sessionID) }
            return
        }
        if stream?.sessionID != frame.sessionID {
            if let previous = stream, var recording = previous.recording {
                await finish(&recording, of: id, session: previous.sessionID)
            }
            stream = Stream(sessionID: frame.sessionID, recording: await settings(id).map { found in
                Recording(settings: found, segmenter: TSSegmenter(segmentSeconds: found.segmentSeconds),
                          folder: Asset.location(channel: found.channelID, kind: .vodPlaylist, day: Date(),
                                                 file: AssetCreated.hex(frame.sessionID)))
            })
        }
        guard var current = stream, var recording = current.recording else {
            streams.withLockedValue { $0[id] = stream }
            return
        }
        do {
            let segments = try recording.segmenter.append(frame)
            for segment in segments { await keep(segment, in: &recording, of: id, session: current.sessionID, ended: false) }
        } catch {
            logger.warning("frame not recorded", metadata: ["stream": "\(id)", "error": "\(error)"])
        }
        current.recording = recording
        streams.withLockedValue { $0[id] = current }
    }

    /// Stores a segment, then the playlist that lists it; lists the recording with its first segment.
    private func keep(_ segment: TSSegmenter.Segment, in recording: inout Recording, of id: StreamID, session: UInt64,
                      ended: Bool) async {
        let name = "\(segment.sequence).ts"
        do {
            try await shelf.put(Data(segment.bytes.readableBytesView), at: "\(recording.folder)/\(name)", contentType: "video/mp2t")
        } catch {
            logger.error("VOD segment not stored", metadata: ["stream": "\(id)", "segment": "\(name)", "error": "\(error)"])
            recording.gap = true
            return
        }
        recording.listed.append(MediaPlaylist.Segment(uri: name, duration: segment.duration,
                                                      discontinuity: segment.discontinuity || recording.gap))
        recording.gap = false
        recording.bytes += segment.bytes.readableBytes
        await writePlaylist(&recording, of: id, session: session, ended: ended)
    }

    private func writePlaylist(_ recording: inout Recording, of id: StreamID, session: UInt64, ended: Bool) async {
        let longest = recording.listed.map(\.duration).max() ?? 1
        // EXTINF rounded to the nearest second must not exceed the target (RFC 8216 §4.3.3.1).
        var playlist = MediaPlaylist(version: 3, targetDuration: max(1, Int(longest.rounded())), mediaSequence: 0,
                                     segments: recording.listed, endList: ended)
        playlist.playlistType = "EVENT"
        let text = Data(playlist.render().utf8)
        let location = "\(recording.folder)/index.m3u8"
        let duration = recording.listed.reduce(0) { $0 + $1.duration }
        do {
            try await shelf.put(text, at: location, contentType: "application/vnd.apple.mpegurl")
            if var asset = recording.asset {
                asset.duration = duration
                asset.size = recording.bytes + text.count
                try await shelf.index.update(asset)
                recording.asset = asset
            } else {
                let asset = Asset(kind: .vodPlaylist, channelID: recording.settings.channelID, streamID: id, sessionID: session,
                                  start: Date().addingTimeInterval(-duration), duration: duration, size: recording.bytes + text.count,
                                  location: location, contentType: "application/vnd.apple.mpegurl")
                try await shelf.index.add(asset)
                recording.asset = asset
            }
        } catch {
            logger.error("VOD playlist not stored", metadata: ["stream": "\(id)", "error": "\(error)"])
        }
    }

    /// The last segment, the playlist with `EXT-X-ENDLIST`, and `asset.created`.
    private func finish(_ recording: inout Recording, of id: StreamID, session: UInt64) async {
        for segment in recording.segmenter.finish() {
            await keep(segment, in: &recording, of: id, session: session, ended: false)
        }
        guard !recording.listed.isEmpty else { return }
        await writePlaylist(&recording, of: id, session: session, ended: true)
        guard let asset = recording.asset else { return }
        do {
            try shelf.announce(asset)
            logger.info("VOD recording finished", metadata: ["stream": "\(id)", "seconds": "\(Int(asset.duration))"])
        } catch {
            logger.error("VOD recording not announced", metadata: ["stream": "\(id)", "error": "\(error)"])
        }
    }
}
