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
    /// A stream's transcoding, or nil for none.
    public typealias SettingsLookup = @Sendable (StreamID) async -> TranscodeSettings?

    private struct Stream {
        var sessionID: UInt64
        /// The stream's partition of `sluice.media.source`.
        var partition: Int
        var transcoder: StreamTranscoder?
        /// While joining a session under way: frames are passed over until it opens.
        var join: SessionJoin?
        var settings: TranscodeSettings?
    }

    private let bus: any EventBus
    private let subscription: BusSubscription
    private let settings: SettingsLookup
    private let logger: Logger
    private let streams = NIOLockedValueBox([StreamID: Stream]())
    public let latency = TranscodeLatency()

    /// Streams being transcoded now.
    public var activeStreams: Int { streams.withLockedValue { $0.values.filter { $0.transcoder != nil }.count } }

    /// Source video frames dropped (to the next keyframe) because transcoding fell behind, since start.
    public var droppedFrames: Int { dropped.withLockedValue { $0 } + streams.withLockedValue { $0.values.compactMap(\.transcoder) }
        .reduce(0) { $0 + $1.droppedFrames } }
    private let dropped = NIOLockedValueBox(0)

    /// Told each rendition's headers whenever they change: stream, rendition, session, headers.
    public typealias HeadersChanged = @Sendable (StreamID, _ rendition: String, _ session: UInt64, [MediaFrame]) -> Void
    private let headersChanged: HeadersChanged?

    private let joining: SessionJoining?

    /// - Parameter joining: how to start on sessions under way (a cluster); nil: every session
    ///   is transcoded from the first frame read.
    public init(bus: any EventBus, feed: WorkerFeed = .fromNow, joining: SessionJoining? = nil, logger: Logger,
                headersChanged: HeadersChanged? = nil, settings: @escaping SettingsLookup) {
        self.bus = bus
        self.joining = joining
        self.headersChanged = headersChanged
        subscription = bus.subscribe(to: .mediaSource, as: feed)
        self.settings = settings
        self.logger = logger
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await withThrowingTaskGroup(of: Bool.self) { tasks in
                tasks.addTask {
                    for await partitions in self.subscription.revokedPartitions { self.release(partitions) }
                    return false
                }
                tasks.addTask {
                    for try await delivery in self.subscription {
                        guard case .frame(let frame) = delivery.record.value, frame.rendition.isEmpty,
                              let id = StreamID(delivery.record.key) else { continue }
                        await self.handle(frame, of: id, partition: delivery.partition, publishedAt: delivery.publishedAt)
                    }
                    return true
                }
                // The frames end when the subscription does; the revocations go with them.
                while let framesEnded = try await tasks.next(), !framesEnded {}
                tasks.cancelAll()
            }
        }
        // Going away is not the publisher stopping: in a cluster another worker takes the
        // streams on, so none of their renditions is ended here.
        let running = streams.withLockedValue { streams in
            defer { streams.removeAll() }
            return streams.values.compactMap(\.transcoder)
        }
        for transcoder in running { transcoder.stop() }
    }

    /// The group gave these partitions to another member: their streams' transcoding stops now,
    /// with no end (the stream goes on there).
    func release(_ partitions: [Int]) {
        let gone = streams.withLockedValue { streams in
            let gone = streams.filter { partitions.contains($0.value.partition) }
            for id in gone.keys { streams[id] = nil }
            return gone
        }
        for (id, stream) in gone {
            stream.transcoder?.stop()
            dropped.withLockedValue { $0 += stream.transcoder?.droppedFrames ?? 0 }
            logger.info("stream handed to another worker", metadata: ["stream": "\(id)", "partition": "\(stream.partition)"])
        }
    }

    func handle(_ frame: MediaFrame, of id: StreamID, partition: Int = 0, publishedAt: Date = Date()) async {
        let current = streams.withLockedValue { $0[id] }
        if frame.kind == .end {
            guard current?.sessionID == frame.sessionID else { return }
            streams.withLockedValue { $0[id] = nil }
            await current?.transcoder?.finish(at: frame.dts, sequence: frame.sequence)
            dropped.withLockedValue { $0 += current?.transcoder?.droppedFrames ?? 0 }
            return
        }
        var stream: Stream
        if let current, current.sessionID == frame.sessionID {
            stream = current
        } else {
            // The stream's previous session ended without its end frame reaching this worker.
            await current?.transcoder?.finish(at: frame.dts, sequence: frame.sequence)
            dropped.withLockedValue { $0 += current?.transcoder?.droppedFrames ?? 0 }
            stream = Stream(sessionID: frame.sessionID, partition: partition, settings: await settings(id))
            if stream.settings != nil {
                stream.join = await joining?.join(frame, of: id, publishedAt: publishedAt, opener: .segmentStart)
                if stream.join == nil {
                    stream.transcoder = begin(frame.sessionID, of: id, settings: stream.settings)
                } else {
                    logger.info("joining a session under way", metadata: ["stream": "\(id)", "age_ms": "\(Self.age(publishedAt))"])
                }
            }
        }
        var frames = [frame]
        if var join = stream.join {
            switch join.step(frame, publishedAt: publishedAt) {
            case .skip, .pass: frames = []
            case .open(let opening):
                frames = opening
                logger.info("joined a session under way", metadata: ["stream": "\(id)", "at": "\(frame.dts)",
                                                                    "skipped": "\(join.skipped)", "age_ms": "\(Self.age(publishedAt))"])
                stream.transcoder = begin(frame.sessionID, of: id, settings: stream.settings)
            }
            stream.join = join.isOpen ? nil : join
        }
        streams.withLockedValue { $0[id] = stream }
        for frame in frames { stream.transcoder?.submit(frame) }
    }

    /// Milliseconds since `publishedAt` (for logs).
    private static func age(_ publishedAt: Date) -> Int { Int((Date().timeIntervalSince(publishedAt) * 1000).rounded()) }

    private func begin(_ sessionID: UInt64, of id: StreamID, settings: TranscodeSettings?) -> StreamTranscoder? {
        var transcoder: StreamTranscoder?
        if let settings {
            do {
                let bus = bus
                let logger = logger
                let (headers, headersChanged) = (RenditionHeaders(), headersChanged)
                transcoder = try StreamTranscoder(streamID: id, sessionID: sessionID, settings: settings, latency: latency,
                                                  logger: logger) { frames in
                    for frame in frames {
                        do {
                            try bus.publish(BusRecord(key: id.rawValue, value: .frame(frame)), to: .mediaRenditions)
                        } catch {
                            logger.error("rendition frame not published", metadata: ["stream": "\(id)", "error": "\(error)"])
                        }
                    }
                    guard let headersChanged else { return }
                    for (rendition, current) in headers.changes(frames) { headersChanged(id, rendition, sessionID, current) }
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
