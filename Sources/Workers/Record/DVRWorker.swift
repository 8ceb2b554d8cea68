import Events
import Foundation
import Logging
import Packager
import ServiceLifecycle
import State

/// Keeps the DVR window of every live stream whose channel has `dvr.windowMinutes` > 0: the
/// stream's frames go through the edge's own packaging (`DVRRecorder`, with the channel's
/// `PackagingConfiguration`), each finished segment's MPEG-TS and CMAF files (and a session's
/// init segments) go to the asset store at `dvr/{streamID}/{relativePath}` and are listed in
/// the index (`DVRArchive`), and segments whose program date is older than the newest one's
/// less the window (and `DVRArchive.grace`) are removed. The edge lists and serves the window
/// from there, so its memory does not grow with the window, and any node serves any stream's.
///
/// Transcoded renditions (`sluice.media.renditions`) are archived the same way under
/// `dvr/{streamID}/{rendition}/…` (`DVRRenditionRouter`), and a rendition playing in the source's
/// place (a watermarked copy) as the stream's own. Settings are read as each session begins (a
/// changed window applies from the next publish).
/// A sweep every `sweepPeriod` removes what streams that stopped left behind, by the wall clock
/// and the channel's current window (none: everything).
///
/// In a cluster (`joining` set) a worker that gets a stream mid-session starts at a keyframe,
/// as an edge does, and its segments have the same names and bytes. With `progress`, the first
/// frame of the segment after the last one stored is noted, and a worker taking the stream over
/// reads the log again from there: the segment its previous worker had not finished is made
/// whole (without it, that one segment is a gap in the archive, never a wrong segment).
/// Renditions are not resumed so (they start at the next segment after their headers).
public final class DVRWorker: Service, Sendable {
    public struct Settings: Sendable, Hashable {
        /// The window, seconds.
        public var windowSeconds: Double
        public var packaging: PackagingConfiguration

        public init(windowSeconds: Double, packaging: PackagingConfiguration) {
            self.windowSeconds = windowSeconds
            self.packaging = packaging
        }

        /// The channel's settings for this worker; nil when it keeps no window. `sourceRendition`
        /// is what plays at the stream's own URLs (`StreamChannel.playbackSource`).
        public init?(_ channel: StreamChannel, sourceRendition: String) {
            guard let window = channel.dvr.windowSeconds else { return nil }
            self.init(windowSeconds: window, packaging: PackagingConfiguration(channel: channel, sourceRendition: sourceRendition))
        }
    }

    private let router: SessionRouter<DVRStreamArchiver>
    private let renditions: DVRRenditionRouter
    private let archive: DVRArchive
    private let channels: any ChannelDirectory
    private let sweepPeriod: Duration
    /// Which streams are live: the sweep leaves them to their archivers, which prune from their
    /// own newest segment and the window their session started with.
    private let sessions: (any SessionStore)?
    private let logger: Logger

    /// - Parameter joining: how to start on sessions under way (a cluster).
    /// - Parameter progress: where each stream's archive stands in the log (a cluster): a worker
    ///   taking a stream over makes the segment its previous worker had not stored again from the log.
    public init(bus: any EventBus, feed: WorkerFeed = .fromNow, joining: SessionJoining? = nil,
                progress: (any RecordingProgressStore)? = nil, index: any AssetIndex,
                store: any AssetStore, channels: any ChannelDirectory, sessions: (any SessionStore)? = nil,
                sweepPeriod: Duration = .seconds(300), logger: Logger) {
        let archive = DVRArchive(index: index, store: store)
        self.archive = archive
        self.channels = channels
        self.sessions = sessions
        self.sweepPeriod = sweepPeriod
        self.logger = logger
        router = SessionRouter(bus: bus, feed: feed, joining: joining, logger: logger) { id, session in
            let noted = try? await progress?.progress(of: id, kind: DVRStreamArchiver.progressKind)
            return await Self.archiver(of: id, rendition: "", session: session, channels: channels, archive: archive,
                                       progress: progress, resuming: noted?.sessionID == session ? noted : nil, logger: logger)
        }
        renditions = DVRRenditionRouter(bus: bus, feed: feed, logger: logger) { id, rendition, session in
            await Self.archiver(of: id, rendition: rendition, session: session, channels: channels, archive: archive, logger: logger)
        }
    }

    /// The archiver of a session of `rendition` ("": the source) of `id`, or nil when its
    /// channel keeps no window or that rendition is not what plays at any of its HTTP URLs
    /// (renditions always have classic HLS; the stream's own URLs only the outputs it has on).
    static func archiver(of id: StreamID, rendition: String, session: UInt64, channels: any ChannelDirectory, archive: DVRArchive,
                         progress: (any RecordingProgressStore)? = nil, resuming: RecordingProgress? = nil,
                         logger: Logger) async -> DVRStreamArchiver? {
        guard let settings = await settings(of: id, channels: channels, logger: logger),
              let destination = DVRRecorder.destination(of: rendition, in: settings.packaging),
              DVRRecorder.archives(destination.configuration) else { return nil }
        return DVRStreamArchiver(streamID: id, rendition: destination.archiveRendition, sessionID: session,
                                 settings: Settings(windowSeconds: settings.windowSeconds, packaging: destination.configuration),
                                 archive: archive, progress: progress, resuming: resuming, logger: logger)
    }

    /// The stream's settings this session; nil when its channel keeps no window.
    static func settings(of id: StreamID, channels: any ChannelDirectory, logger: Logger) async -> Settings? {
        guard let channel = await channels.channel(of: id, logger: logger), channel.dvr.windowSeconds != nil else { return nil }
        // As the edge decides it (PackagerHub): an uploaded watermark image makes a watermarked copy play in the source's place.
        let hasImage = channel.watermark.image.enabled ? (try? await channels.watermarkImageBytes(of: id))?.isEmpty == false : false
        return Settings(channel, sourceRendition: channel.playbackSource(hasWatermarkImage: hasImage))
    }

    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await self.router.run() }
            tasks.addTask { try await self.renditions.run() }
            tasks.addTask {
                await cancelWhenGracefulShutdown {
                    while !Task.isCancelled {
                        // Cancelled at shutdown: the loop ends, nothing is thrown.
                        try? await Task.sleep(for: self.sweepPeriod)
                        if !Task.isCancelled { await self.sweep(now: Date()) }
                    }
                }
            }
            try await tasks.next()
            tasks.cancelAll()
        }
    }

    /// Removes, for every stream with archived segments that is not live, those older than the
    /// channel's window (and the grace) before `now`; everything of a stream whose channel is gone
    /// or keeps no window. A live stream is left to its archiver: edges count its window back
    /// from its newest segment, which a stalled publisher or a window lowered mid-session puts
    /// apart from this clock. Returns how many segments went.
    @discardableResult
    public func sweep(now: Date) async -> Int {
        var removed = 0
        do {
            for stream in try await archive.index.dvrStreams(limit: 10_000) {
                if let sessions, try await sessions.session(stream) != nil { continue }
                let channel = try await channels.channel(of: stream)
                let window = channel?.dvr.windowSeconds ?? 0
                let cutoff = now.addingTimeInterval(-window - DVRArchive.grace)
                while true {
                    let count = try await archive.remove(of: stream, before: cutoff, limit: 1000)
                    removed += count
                    if count < 1000 { break }
                }
            }
        } catch {
            logger.error("DVR sweep stopped", metadata: ["error": "\(error)"])
        }
        if removed > 0 { logger.info("DVR sweep removed segments", metadata: ["count": "\(removed)"]) }
        return removed
    }
}
