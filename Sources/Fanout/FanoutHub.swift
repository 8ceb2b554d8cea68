import Events
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Every live stream's fan-out on this node, fed from `sluice.media.source` and
/// `sluice.media.renditions` on the event bus. RTMP play and HTTP-FLV both attach their viewers
/// here, so a stream is serialized once per format however many viewers and protocols it has.
///
/// Each rendition of a stream has a fan-out of its own. A stream may have a rendition serve in
/// its source's place (a watermarked copy: `StreamChannel.playbackSource`); its source is then
/// never served.
public final class FanoutHub: Sendable {
    struct Key: Hashable {
        var stream: StreamID
        var rendition: String
    }

    struct Streams {
        var fanouts: [Key: StreamFanout] = [:]
        /// Per stream, the session the playback source was looked up for, and the answer.
        var sources: [StreamID: (session: UInt64, rendition: String)] = [:]
        /// First viewers waiting for a fan-out to be made (`fanout(opening:)`), by a number each.
        var waiters: [Key: [UInt64: CheckedContinuation<StreamFanout?, Never>]] = [:]
        var nextWaiter: UInt64 = 0
    }

    /// Where the hub's frames come from.
    public enum Feed: Sendable {
        /// Every stream on the bus, read from the moment the hub exists (one node, or an ingest
        /// node serving RTMP play of its own publishers).
        case everyStream
        /// A stream is read only while it has viewers on this node (a cluster's API node): the
        /// first viewer starts reading at the stream's newest keyframe, so it gets the whole GOP
        /// at once; `idleSeconds` after the last viewer left, reading stops.
        case onDemand(OnDemandFeed)
    }

    /// Made at construction, so no frame published after the hub exists is missed, however
    /// late `run()` starts (`.everyStream` only).
    private let subscriptions: [BusSubscription]
    let bus: any EventBus
    let onDemand: OnDemandFeed?
    /// Streams read on demand: the task reading them and since when they have had no viewer.
    /// Locked: first viewers' requests start readers, `run()` stops them; never held across an await.
    let readers = NIOLockedValueBox<[StreamID: (task: Task<Void, Never>, idleSince: NIODeadline?)]>([:])
    private let configuration: StreamFanout.Configuration
    private let pacers: LoopPacers
    private let counters = ViewerCounters()
    /// Guards fan-outs, playback sources and first-viewer waiters: `fanout(for:)` is asked synchronously on
    /// event loops while the reading tasks change it, so a lock.
    let streams = NIOLockedValueBox(Streams())
    /// Where each session's channel is read, to learn which rendition plays as the source; nil:
    /// the source always does (tests, streams without channels).
    private let channels: (any ChannelDirectory)?
    let logger: Logger

    public init(bus: any EventBus, feed: Feed = .everyStream, channels: (any ChannelDirectory)? = nil,
                configuration: StreamFanout.Configuration = .init(), flushPolicy: FlushPolicy = .init(), logger: Logger) {
        self.bus = bus
        switch feed {
        case .everyStream:
            subscriptions = bus.subscribeToAllMedia()
            onDemand = nil
        case .onDemand(let feed):
            subscriptions = []
            onDemand = feed
        }
        self.configuration = configuration
        self.pacers = LoopPacers(policy: flushPolicy)
        self.channels = channels
        self.logger = logger
    }

    /// The fan-out of `stream` (or of one of its renditions) if it is live on the bus.
    public func fanout(for stream: StreamID, rendition: String = "") -> StreamFanout? {
        streams.withLockedValue { $0.fanouts[Key(stream: stream, rendition: rendition)] }
    }

    /// Streams with a fan-out now.
    public var liveStreams: [StreamID] {
        streams.withLockedValue { $0.fanouts.keys.filter(\.rendition.isEmpty).map(\.stream) }.sorted()
    }

    /// The renditions of `stream` with a fan-out now, by name.
    public func renditions(of stream: StreamID) -> [String] {
        streams.withLockedValue { $0.fanouts.keys.filter { $0.stream == stream && !$0.rendition.isEmpty }.map(\.rendition) }.sorted()
    }

    /// GOPs and frames dropped for slow viewers since start.
    public var droppedGOPs: Int { counters.droppedGOPs }
    public var droppedFrames: Int { counters.droppedFrames }

    /// Whether streams are read only while they have viewers here (`fanout(opening:)`).
    public var readsOnDemand: Bool { onDemand != nil }

    /// Reads media frames from the bus until the task is cancelled or the bus closes; on demand,
    /// looks after the streams read for viewers instead.
    public func run() async throws {
        if let onDemand {
            await lookAfterReaders(onDemand)
            endAll()
            return
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for subscription in subscriptions {
                group.addTask {
                    for try await delivery in subscription { await self.route(delivery) }
                }
            }
            try await group.waitForAll()
        }
        endAll()
    }

    /// Sends a frame to its fan-out: its rendition's, or the stream's own when it is the
    /// rendition that plays in the source's place.
    func route(_ frame: MediaFrame, of id: StreamID) async {
        var source = streams.withLockedValue { $0.sources[id] }
        if source?.session != frame.sessionID {
            let rendition = await playbackSource(of: id)
            source = (frame.sessionID, rendition)
            streams.withLockedValue { $0.sources[id] = source }
        }
        let served = source?.rendition ?? ""
        if frame.rendition == served {
            handle(frame, of: Key(stream: id, rendition: ""))
        } else if !frame.rendition.isEmpty {
            handle(frame, of: Key(stream: id, rendition: frame.rendition))
        }
        // Otherwise a source frame another rendition stands in for: not served.
    }

    /// The rendition served at `stream`'s own URLs, read as each session begins; the source when
    /// the channel cannot be read (logged), as when nothing transcodes.
    private func playbackSource(of stream: StreamID) async -> String {
        guard let channels else { return "" }
        do {
            return try await channels.playbackSource(of: stream)
        } catch {
            logger.error("channel lookup failed; the stream plays from its source", metadata: ["stream": "\(stream)", "error": "\(error)"])
            return ""
        }
    }

    package func handle(_ frame: MediaFrame, of id: StreamID) {
        handle(frame, of: Key(stream: id, rendition: frame.rendition))
    }

    func handle(_ frame: MediaFrame, of key: Key) {
        if frame.kind == .end {
            let ended = streams.withLockedValue { streams -> StreamFanout? in
                guard let fanout = streams.fanouts[key], fanout.sessionID == frame.sessionID else { return nil }
                streams.fanouts[key] = nil
                if key.rendition.isEmpty { streams.sources[key.stream] = nil }
                return fanout
            }
            ended?.end()
            if ended != nil, key.rendition.isEmpty { logger.info("stream left fan-out", metadata: ["stream": "\(key.stream)"]) }
            return
        }
        let (fanout, replaced, waiters) = streams.withLockedValue { streams in
            if let current = streams.fanouts[key], current.sessionID == frame.sessionID {
                return (current, StreamFanout?.none, [CheckedContinuation<StreamFanout?, Never>]())
            }
            let fresh = StreamFanout(streamID: key.stream, sessionID: frame.sessionID, configuration: configuration,
                                     pacers: pacers, counters: counters)
            defer { streams.fanouts[key] = fresh }
            return (fresh, streams.fanouts[key], Array((streams.waiters.removeValue(forKey: key) ?? [:]).values))
        }
        if let replaced {
            replaced.end()
        }
        fanout.publish(frame)
        for waiter in waiters { waiter.resume(returning: fanout) }
    }

    func endAll() {
        let all = streams.withLockedValue { streams in
            defer { streams.fanouts.removeAll() }
            return Array(streams.fanouts.values)
        }
        for fanout in all { fanout.end() }
    }
}
