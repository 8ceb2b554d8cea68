import Events
import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Transcodes every live stream whose channel asks for it (a ladder, a watermark or both):
/// source frames from `sluice.media.source`, rendition frames to `sluice.media.renditions`.
/// Each stream gets its own thread; a stream whose transcoding cannot start is logged and played
/// from its source only.
///
/// In a cluster the workers share the streams as a consumer group. One that takes a stream over
/// mid-session (its previous worker died or gave the partition up) starts at the next segment
/// start with the session's headers (`SessionJoining`); one that loses a stream's partition stops
/// that stream's transcoding at once and ends none of its renditions. Renditions are ended only
/// by the publisher's end (or by a new session of the stream).
public final class TranscodeWorker: Service, Sendable {
    /// A rendition's headers as its transcoder (re)made them, for whoever records them (ingest's
    /// `PlaybackStartRecorder`, through the composition): read from `headerChanges`.
    public struct HeadersChange: Sendable {
        public var stream: StreamID
        public var rendition: String
        public var session: UInt64
        public var headers: [MediaFrame]
    }

    struct Stream {
        /// Where the stream's frames come from here.
        enum Origin: Equatable {
            /// The group's delivery of the stream's partition of `sluice.media.source`.
            case partition(Int)
            /// This worker's own read of the partition, after it took a lapsed lease over.
            case takeover
        }

        var sessionID: UInt64
        var origin: Origin
        var transcoder: StreamTranscoder?
        /// While joining a session under way: frames are passed over until it opens.
        var join: SessionJoin?
        var settings: TranscodeSettings?
        /// Another worker held the session's lease: its frames are passed over here (until this
        /// worker takes the lease over, `takeOverLapsedSessions`).
        var heldElsewhere = false
        /// Tells this entry from a later one of the same stream (a frame handled while the entry
        /// was replaced or removed must not bring it back).
        var generation: UInt64 = 0
        /// What the session's own URLs play ("" or the watermarked copy), fixed as it begins.
        var source = ""
        /// The session's newest configurations and metadata, for transcoding started live.
        var headers: [MediaFrame.Kind: MediaFrame] = [:]
        var hasVideo = false
        /// A channel change waiting for the next segment start (`LiveTranscodeChange`).
        var change = LiveTranscodeChange.none

        var isTakeover: Bool { origin == .takeover }
        var partition: Int? { if case .partition(let partition) = origin { partition } else { nil } }
    }

    let bus: any EventBus
    private let subscription: BusSubscription
    /// Where each session's channel (ladder, watermark) is read when it begins.
    let channels: any ChannelDirectory
    let fontFile: String
    let logger: Logger
    /// Each stream's entry: routing, revocation, lease and take-over tasks change it; never held across an
    /// await, so each entry carries a generation.
    let streams = NIOLockedValueBox([StreamID: Stream]())
    /// The generation given out last (`insert`); taken just before `streams`, never inside it.
    private let generations = NIOLockedValueBox(UInt64(0))
    /// The session each stream finished last here: its frames still in flight are passed over.
    /// Locked: the routing and take-over tasks both write it.
    let finished = NIOLockedValueBox([StreamID: UInt64]())
    public let latency = TranscodeLatency()

    /// Streams being transcoded now.
    public var activeStreams: Int { streams.withLockedValue { $0.values.filter { $0.transcoder != nil }.count } }

    /// Source video frames dropped (to the next keyframe) because transcoding fell behind, since start.
    public var droppedFrames: Int { dropped.withLockedValue { $0 } + streams.withLockedValue { $0.values.compactMap(\.transcoder) }
        .reduce(0) { $0 + $1.droppedFrames } }
    /// Frames dropped by transcoders already gone, added to by whichever task removed them; so a lock.
    let dropped = NIOLockedValueBox(0)

    /// Each rendition's headers whenever they change, in order, for one reader. Bounded: unread, the
    /// oldest changes give way (a newer change of a rendition replaces its older ones anyway).
    public let headerChanges: AsyncStream<HeadersChange>
    private let headerSink: AsyncStream<HeadersChange>.Continuation

    let joining: SessionJoining?
    let leases: HeldLeases?
    /// `sluice.channels`, read from its end: a change of a live stream's channel is applied live.
    let channelChanges: BusSubscription
    /// Per stream, the transcoding its channel asks for since it changed, for the frame path to
    /// pick up (`TranscodeWorker+LiveSettings`). Locked: the change reader writes, the router takes.
    let requests = NIOLockedValueBox([StreamID: LiveSettingsRequest]())

    /// - Parameter joining: how to start on sessions under way (a cluster); nil: every session
    ///   is transcoded from the first frame read.
    /// - Parameter leasing: how the workers of a cluster agree who transcodes a session
    ///   (`TranscodeLeasing`); nil: whoever reads the stream's partition does.
    /// - Parameter channels: where a session's transcoding is read (`TranscodeSettings.of`).
    /// - Parameter fontFile: the watermark text's font.
    public init(bus: any EventBus, feed: WorkerFeed = .fromNow, joining: SessionJoining? = nil, leasing: TranscodeLeasing? = nil,
                channels: any ChannelDirectory, fontFile: String = WatermarkSettings.defaultFontFile, logger: Logger) {
        self.bus = bus
        self.joining = joining
        leases = leasing.map { HeldLeases($0, logger: logger) }
        (headerChanges, headerSink) = AsyncStream.makeStream(of: HeadersChange.self, bufferingPolicy: .bufferingNewest(1_000))
        subscription = bus.subscribe(to: .mediaSource, as: feed)
        channelChanges = bus.subscribe(to: .channels, from: .end)
        self.channels = channels
        self.fontFile = fontFile
        self.logger = logger
    }

    /// A stream's transcoding from its channel; nil for none, or when the channel cannot be read
    /// (logged: the stream then plays from its source this session).
    func settings(_ stream: StreamID) async -> TranscodeSettings? {
        do {
            return try await TranscodeSettings.of(stream, in: channels, fontFile: fontFile)
        } catch {
            logger.error("channel lookup failed; stream not transcoded", metadata: ["stream": "\(stream)", "error": "\(error)"])
            return nil
        }
    }

    public func run() async throws {
        defer { headerSink.finish() }  // its reader ends with the worker
        try await cancelWhenGracefulShutdown {
            try await withThrowingTaskGroup(of: Bool.self) { tasks in
                tasks.addTask {
                    for await partitions in self.subscription.revokedPartitions { await self.release(partitions) }
                    return false
                }
                tasks.addTask {
                    await self.followChannelChanges()
                    return false
                }
                if let leases = self.leases {
                    tasks.addTask {
                        await leases.renewForever { name in self.leaseLost(name) }
                        return false
                    }
                    tasks.addTask {
                        await self.takeOverLapsedSessions(leases)
                        return false
                    }
                }
                tasks.addTask {
                    for try await delivery in self.subscription {
                        guard case .frame(let frame) = delivery.record.value, frame.rendition.isEmpty,
                              let id = StreamID(delivery.record.key) else { continue }
                        await self.handle(frame, of: id, via: .partition(delivery.partition), publishedAt: delivery.publishedAt)
                    }
                    return true
                }
                // The frames end when the subscription does; the revocations and leases go with them.
                while let framesEnded = try await tasks.next(), !framesEnded {}
                tasks.cancelAll()
            }
        }
        // Going away is not the publisher stopping: in a cluster another worker takes the
        // streams on (at once: the leases are given up), so none of their renditions is ended here.
        let running = streams.withLockedValue { streams in
            defer { streams.removeAll() }
            return Array(streams)
        }
        for (id, stream) in running {
            stream.transcoder?.stop()
            if !stream.heldElsewhere { await leases?.release(id, session: stream.sessionID) }
        }
    }

    /// The group gave these partitions to another member: their streams' transcoding stops now,
    /// with no end (the stream goes on there), and their leases are given up for the next owner.
    func release(_ partitions: [Int]) async {
        let gone = streams.withLockedValue { streams in
            let gone = streams.filter { $0.value.partition.map(partitions.contains) ?? false }
            for id in gone.keys { streams[id] = nil }
            return gone
        }
        for (id, stream) in gone {
            stream.transcoder?.stop()
            dropped.withLockedValue { $0 += stream.transcoder?.droppedFrames ?? 0 }
            if !stream.heldElsewhere { await leases?.release(id, session: stream.sessionID) }
            logger.info("stream handed to another worker", metadata: ["stream": "\(id)", "partition": "\(stream.partition ?? -1)"])
        }
    }

    /// A lease this worker held lapsed or went to another worker: that session's transcoding
    /// stops at once, with no end (the other worker goes on with it).
    private func leaseLost(_ name: String) {
        let gone = streams.withLockedValue { streams in
            let gone = streams.filter { TranscodeLeasing.name($0.key, $0.value.sessionID) == name && !$0.value.heldElsewhere }
            for id in gone.keys { streams[id] = nil }
            return gone
        }
        for stream in gone.values {
            stream.transcoder?.stop()
            dropped.withLockedValue { $0 += stream.transcoder?.droppedFrames ?? 0 }
        }
    }

    /// One source frame (the worker's own tests call this with the partition's frames).
    func handle(_ frame: MediaFrame, of id: StreamID, partition: Int = 0, publishedAt: Date = Date()) async {
        await handle(frame, of: id, via: .partition(partition), publishedAt: publishedAt)
    }

    func handle(_ frame: MediaFrame, of id: StreamID, via origin: Stream.Origin, publishedAt: Date) async {
        let current = streams.withLockedValue { $0[id] }
        guard var stream = current, stream.sessionID == frame.sessionID else {
            // Only the partition's frames begin a session here; a take-over's read ends with its session.
            if case .partition = origin { await begin(frame, of: id, via: origin, replacing: current, publishedAt: publishedAt) }
            return
        }
        // Each session is read one way: the other reader's frames of it are passed over.
        guard stream.origin == origin else { return }
        if frame.kind == .end {
            guard let ended = take(id, generation: stream.generation) else { return }
            await ended.transcoder?.finish(at: frame.dts, sequence: frame.sequence)
            dropped.withLockedValue { $0 += ended.transcoder?.droppedFrames ?? 0 }
            finished.withLockedValue { $0[id] = ended.sessionID }
            leases?.forget(id, session: ended.sessionID)
            return
        }
        let request = requests.withLockedValue { $0.removeValue(forKey: id) }
        if stream.heldElsewhere { return }
        stream.remember(frame)
        if let request { await plan(request, for: &stream, of: id) }
        if stream.change.isPending, stream.join == nil, LiveTranscodeChange.switchesAt(frame, hasVideo: stream.hasVideo) {
            await switchSettings(&stream, of: id, at: frame)
        }
        let frames = step(&stream, of: id, frame, publishedAt: publishedAt)
        let kept = streams.withLockedValue { streams in
            guard streams[id]?.generation == stream.generation else { return false }
            streams[id] = stream
            return true
        }
        guard kept else { return }
        for frame in frames { stream.transcoder?.submit(frame) }
    }

    /// The first frame of a session read from the stream's partition (or the first read at all).
    private func begin(_ frame: MediaFrame, of id: StreamID, via origin: Stream.Origin, replacing current: Stream?,
                       publishedAt: Date) async {
        if frame.kind == .end || finished.withLockedValue({ $0[id] }) == frame.sessionID { return }
        if let current, let previous = take(id, generation: current.generation) {
            // The stream's previous session ended without its end frame reaching this worker.
            await previous.transcoder?.finish(at: frame.dts, sequence: frame.sequence)
            dropped.withLockedValue { $0 += previous.transcoder?.droppedFrames ?? 0 }
            if !previous.heldElsewhere { leases?.forget(id, session: previous.sessionID) }
        }
        requests.withLockedValue { $0[id] = nil }  // the settings are read afresh just below
        var stream = Stream(sessionID: frame.sessionID, origin: origin, settings: await settings(id))
        stream.source = stream.settings?.playbackSource ?? ""
        stream.remember(frame)
        if stream.settings != nil {
            if let leases, await !leases.claim(id, session: frame.sessionID) {
                stream.heldElsewhere = true
                logger.info("session transcoded by another worker", metadata: ["stream": "\(id)", "session": "\(frame.sessionID)"])
            } else {
                var joining = joining
                if let leases { joining?.lookback = leases.leasing.lookback }
                stream.join = await joining?.join(frame, of: id, publishedAt: publishedAt, opener: .segmentStart)
                if stream.join != nil {
                    logger.info("joining a session under way", metadata: ["stream": "\(id)", "age_ms": "\(Self.age(publishedAt))"])
                }
            }
        }
        guard let inserted = insert(stream, of: id) else { return }  // a take-over of the session came first
        stream = inserted
        var frames: [MediaFrame] = []
        if stream.settings != nil, !stream.heldElsewhere {
            if stream.join == nil {
                stream.transcoder = start(frame.sessionID, of: id, settings: stream.settings)
                frames = [frame]
            } else {
                frames = step(&stream, of: id, frame, publishedAt: publishedAt)
            }
        }
        let kept = streams.withLockedValue { streams in
            guard streams[id]?.generation == stream.generation else { return false }
            streams[id] = stream
            return true
        }
        if kept { for frame in frames { stream.transcoder?.submit(frame) } } else { stream.transcoder?.stop() }
    }

    /// A frame for a stream being joined or transcoded: what goes to the transcoder.
    private func step(_ stream: inout Stream, of id: StreamID, _ frame: MediaFrame, publishedAt: Date) -> [MediaFrame] {
        guard var join = stream.join else { return [frame] }
        defer { stream.join = join.isOpen ? nil : join }
        switch join.step(frame, publishedAt: publishedAt) {
        case .skip, .pass:
            return []
        case .open(let opening):
            logger.info("joined a session under way", metadata: ["stream": "\(id)", "at": "\(frame.dts)",
                                                                "skipped": "\(join.skipped)", "age_ms": "\(Self.age(publishedAt))"])
            stream.transcoder = start(frame.sessionID, of: id, settings: stream.settings)
            return opening
        }
    }

    /// Adds `stream` under a new generation unless an entry of the same session is there already
    /// (one that passes the session over gives way to a take-over); returns it as added.
    func insert(_ stream: Stream, of id: StreamID) -> Stream? {
        var stream = stream
        stream.generation = generations.withLockedValue { $0 += 1; return $0 }
        return streams.withLockedValue { streams in
            if let existing = streams[id], existing.sessionID == stream.sessionID, !(stream.isTakeover && existing.heldElsewhere) {
                return nil
            }
            streams[id] = stream
            return stream
        }
    }

    /// Removes the stream's entry if it is still `generation`; the one caller that gets it back
    /// stops or finishes its transcoding.
    func take(_ id: StreamID, generation: UInt64) -> Stream? {
        streams.withLockedValue { streams in
            guard let stream = streams[id], stream.generation == generation else { return nil }
            streams[id] = nil
            return stream
        }
    }

    /// Milliseconds since `publishedAt` (for logs).
    static func age(_ publishedAt: Date) -> Int { Int((Date().timeIntervalSince(publishedAt) * 1000).rounded()) }

    func start(_ sessionID: UInt64, of id: StreamID, settings: TranscodeSettings?) -> StreamTranscoder? {
        var transcoder: StreamTranscoder?
        if let settings {
            do {
                let bus = bus
                let logger = logger
                let (headers, headerSink) = (RenditionHeaders(), headerSink)
                transcoder = try StreamTranscoder(streamID: id, sessionID: sessionID, settings: settings, latency: latency,
                                                  logger: logger) { frames in
                    for frame in frames {
                        do {
                            try bus.publish(BusRecord(key: id.rawValue, value: .frame(frame)), to: .mediaRenditions)
                        } catch {
                            logger.error("rendition frame not published", metadata: ["stream": "\(id)", "error": "\(error)"])
                        }
                    }
                    for (rendition, current) in headers.changes(frames) {
                        headerSink.yield(HeadersChange(stream: id, rendition: rendition, session: sessionID, headers: current))
                    }
                }
                logger.info("transcoding stream", metadata: [
                    "stream": "\(id)", "renditions": "\(settings.renditions.map(\.rawValue))",
                    "watermark": "\(!settings.watermark.isEmpty)",
                ])
            } catch {
                logger.error("transcoding not started; the stream plays from its source",
                             metadata: ["stream": "\(id)", "error": "\(error)"])
            }
        }
        return transcoder
    }
}
