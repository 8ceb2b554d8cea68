import Events
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Every live stream's fan-out on this node, fed from `sluice.media.source` and
/// `sluice.media.renditions` on the event bus. RTMP play and HTTP-FLV both attach their viewers
/// here, so a stream is serialized once per format however many viewers and protocols it has.
///
/// Each rendition of a stream has a fan-out of its own. A stream may have a rendition serve in
/// its source's place (`PlaybackSource`: a watermarked copy); its source is then never served.
public final class FanoutHub: Sendable {
    /// The rendition served at a stream's own URLs: empty for the source itself.
    public typealias PlaybackSource = @Sendable (StreamID) async -> String

    private struct Key: Hashable {
        var stream: StreamID
        var rendition: String
    }

    private struct Streams {
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

    /// Where reading a live stream mid-session starts (from session state).
    public struct StreamStart: Sendable {
        /// The session's decoder configurations and metadata, handed to the fan-out first.
        public var headers: [MediaFrame]
        /// The newest keyframe's offset in the stream's partition of `sluice.media.source`; nil:
        /// none recorded yet (reading starts with the records published from now on).
        public var keyframeOffset: Int64?

        public init(headers: [MediaFrame], keyframeOffset: Int64?) {
            self.headers = headers
            self.keyframeOffset = keyframeOffset
        }
    }

    public struct OnDemandFeed: Sendable {
        /// Where to start reading a stream; nil when it is not live; throws when session state
        /// cannot say (streams being read are then kept).
        public var streamStart: @Sendable (StreamID) async throws -> StreamStart?
        public var idleSeconds: Double
        /// How long a first viewer waits for the stream's first frame before it is told the
        /// stream is not found.
        public var firstFrameSeconds: Double

        public init(idleSeconds: Double = 5, firstFrameSeconds: Double = 5,
                    streamStart: @escaping @Sendable (StreamID) async throws -> StreamStart?) {
            self.streamStart = streamStart
            self.idleSeconds = idleSeconds
            self.firstFrameSeconds = firstFrameSeconds
        }
    }

    /// Made at construction, so no frame published after the hub exists is missed, however
    /// late `run()` starts (`.everyStream` only).
    private let subscriptions: [BusSubscription]
    private let bus: any EventBus
    private let onDemand: OnDemandFeed?
    /// Streams read on demand: the task reading them and since when they have had no viewer.
    /// Locked: first viewers' requests start readers, `run()` stops them; never held across an await.
    private let readers = NIOLockedValueBox<[StreamID: (task: Task<Void, Never>, idleSince: NIODeadline?)]>([:])
    private let configuration: StreamFanout.Configuration
    private let flushers: FlusherRegistry
    private let counters = ViewerCounters()
    /// Guards fan-outs, playback sources and first-viewer waiters: `fanout(for:)` is asked synchronously on
    /// event loops while the reading tasks change it, so a lock.
    private let streams = NIOLockedValueBox(Streams())
    private let playbackSource: PlaybackSource
    private let logger: Logger

    public init(bus: any EventBus, feed: Feed = .everyStream, configuration: StreamFanout.Configuration = .init(),
                flushPolicy: FlushPolicy = .init(), logger: Logger, playbackSource: @escaping PlaybackSource = { _ in "" }) {
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
        self.flushers = FlusherRegistry(policy: flushPolicy)
        self.playbackSource = playbackSource
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

    /// The fan-out of `stream` (or a rendition), starting to read the stream if it is live and
    /// not read yet (`.onDemand`); waits for its first frame. Nil when it is not live.
    public func fanout(opening stream: StreamID, rendition: String = "") async -> StreamFanout? {
        if let fanout = fanout(for: stream, rendition: rendition) { return fanout }
        guard let onDemand else { return nil }
        let deadline = NIODeadline.now() + .milliseconds(Int64(onDemand.firstFrameSeconds * 1000))
        if readers.withLockedValue({ $0[stream] }) == nil {
            // A stream that has just started may have no keyframe recorded yet: wait for one, so
            // reading starts at a picture that decodes. (Session state is another node's to
            // write, and nothing tells this one when it does: it is asked again every 100 ms.)
            var start = try? await onDemand.streamStart(stream)
            while start != nil, start?.keyframeOffset == nil, NIODeadline.now() < deadline, !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(100))
                start = try? await onDemand.streamStart(stream)
            }
            guard let start, let offset = start.keyframeOffset else { return nil }
            startReading(stream, headers: start.headers, from: .offset(offset))
        }
        return await firstFanout(of: Key(stream: stream, rendition: rendition), by: deadline)
    }

    /// The fan-out of `key` as soon as its first frame makes it (`handle` resumes the waiter),
    /// or nil at `deadline` or on cancellation.
    private func firstFanout(of key: Key, by deadline: NIODeadline) async -> StreamFanout? {
        let number = streams.withLockedValue { streams in
            defer { streams.nextWaiter += 1 }
            return streams.nextWaiter
        }
        let timer = Task {
            try? await Task.sleep(for: .nanoseconds(max(0, (deadline - .now()).nanoseconds)))
            self.resumeWaiter(number, of: key, with: nil)
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<StreamFanout?, Never>) in
                let made = streams.withLockedValue { streams -> StreamFanout?? in
                    if let fanout = streams.fanouts[key] { return .some(fanout) }
                    if Task.isCancelled || deadline <= .now() { return .some(nil) }
                    streams.waiters[key, default: [:]][number] = continuation
                    return .none
                }
                if let made { continuation.resume(returning: made) }
            }
        } onCancel: {
            resumeWaiter(number, of: key, with: nil)
        }
    }

    private func resumeWaiter(_ number: UInt64, of key: Key, with fanout: StreamFanout?) {
        let waiter = streams.withLockedValue { $0.waiters[key]?.removeValue(forKey: number) }
        waiter?.resume(returning: fanout)
    }

    private func startReading(_ stream: StreamID, headers: [MediaFrame], from start: SubscriptionStart) {
        let source = bus.subscribe(to: .mediaSource, key: stream.rawValue, from: start)
        let renditions = bus.subscribe(to: .mediaRenditions, key: stream.rawValue, from: .end)
        let task = Task {
            for header in headers { await self.route(header, of: stream) }
            await withTaskGroup(of: Void.self) { group in
                for subscription in [source, renditions] {
                    group.addTask { await self.read(subscription) }
                }
            }
        }
        let started = readers.withLockedValue { readers in
            guard readers[stream] == nil else { return false }
            readers[stream] = (task, nil)
            return true
        }
        if started {
            logger.info("reading stream for viewers on this node", metadata: ["stream": "\(stream)", "from": "\(start)"])
        } else {
            task.cancel()  // another viewer's request started it first
        }
    }

    private func read(_ subscription: BusSubscription) async {
        do {
            for try await delivery in subscription {
                // A stopped reader's last frames must not make a fan-out nobody feeds.
                guard !Task.isCancelled else { return }
                guard case .frame(let frame) = delivery.record.value, let id = StreamID(delivery.record.key) else { continue }
                await route(frame, of: id)
            }
        } catch {
            logger.error("media subscription failed", metadata: ["error": "\(error)"])
        }
    }

    /// Stops reading streams that have had no viewer here for `idleSeconds`, or that session
    /// state no longer lists as live (their ingest node died without ending them); their
    /// fan-outs end, and their viewers with them.
    private func stopReaders(idleSeconds: Double, notLive: Set<StreamID>) {
        let now = NIODeadline.now()
        let viewersByStream = streams.withLockedValue { streams in
            streams.fanouts.reduce(into: [StreamID: Int]()) { $0[$1.key.stream, default: 0] += $1.value.viewerCount }
        }
        let idle = readers.withLockedValue { readers -> [StreamID] in
            var stopped: [StreamID] = []
            for (stream, reader) in readers {
                let viewers = viewersByStream[stream] ?? 0
                if notLive.contains(stream) {
                    stopped.append(stream)
                } else if viewers > 0 {
                    readers[stream]?.idleSince = nil
                } else if let since = reader.idleSince {
                    if now - since >= .milliseconds(Int64(idleSeconds * 1000)) { stopped.append(stream) }
                } else {
                    readers[stream]?.idleSince = now
                }
            }
            for stream in stopped { readers.removeValue(forKey: stream)?.task.cancel() }
            return stopped
        }
        for stream in idle {
            let ended = streams.withLockedValue { streams in
                let keys = streams.fanouts.keys.filter { $0.stream == stream }
                defer {
                    for key in keys { streams.fanouts[key] = nil }
                    streams.sources[stream] = nil
                }
                return keys.compactMap { streams.fanouts[$0] }
            }
            for fanout in ended { fanout.end() }
            logger.info("stopped reading stream", metadata: ["stream": "\(stream)",
                                                             "why": "\(notLive.contains(stream) ? "no longer live" : "no viewers here")"])
        }
    }

    /// Reads media frames from the bus until the task is cancelled or the bus closes; on demand,
    /// looks after the streams read for viewers instead.
    public func run() async throws {
        if let onDemand {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                var notLive: Set<StreamID> = []
                for stream in readers.withLockedValue({ Array($0.keys) }) {
                    do {
                        if try await onDemand.streamStart(stream) == nil { notLive.insert(stream) }
                    } catch {
                        // Session state does not answer: keep reading what is being read.
                    }
                }
                stopReaders(idleSeconds: onDemand.idleSeconds, notLive: notLive)
            }
            let all = readers.withLockedValue { readers in
                defer { readers.removeAll() }
                return readers.values.map(\.task)
            }
            for task in all { task.cancel() }
            endAll()
            return
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for subscription in subscriptions {
                group.addTask {
                    for try await delivery in subscription {
                        guard case .frame(let frame) = delivery.record.value, let id = StreamID(delivery.record.key) else { continue }
                        await self.route(frame, of: id)
                    }
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
            let rendition = await playbackSource(id)
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

    func handle(_ frame: MediaFrame, of id: StreamID) {
        handle(frame, of: Key(stream: id, rendition: frame.rendition))
    }

    private func handle(_ frame: MediaFrame, of key: Key) {
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
                                     flushers: flushers, counters: counters)
            defer { streams.fanouts[key] = fresh }
            return (fresh, streams.fanouts[key], Array((streams.waiters.removeValue(forKey: key) ?? [:]).values))
        }
        if let replaced {
            replaced.end()
        }
        fanout.publish(frame)
        for waiter in waiters { waiter.resume(returning: fanout) }
    }

    private func endAll() {
        let all = streams.withLockedValue { streams in
            defer { streams.fanouts.removeAll() }
            return Array(streams.fanouts.values)
        }
        for fanout in all { fanout.end() }
    }
}
