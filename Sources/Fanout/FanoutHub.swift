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
    }

    /// Made at construction, so no frame published after the hub exists is missed, however
    /// late `run()` starts.
    private let subscriptions: [BusSubscription]
    private let configuration: StreamFanout.Configuration
    private let flushers: FlusherRegistry
    private let counters = ViewerCounters()
    private let streams = NIOLockedValueBox(Streams())
    private let playbackSource: PlaybackSource
    private let logger: Logger

    public init(bus: any EventBus, configuration: StreamFanout.Configuration = .init(),
                flushPolicy: FlushPolicy = .init(), logger: Logger, playbackSource: @escaping PlaybackSource = { _ in "" }) {
        subscriptions = [bus.subscribe(to: .mediaSource, from: .end), bus.subscribe(to: .mediaRenditions, from: .end)]
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

    /// Reads media frames from the bus until the task is cancelled or the bus closes.
    public func run() async throws {
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
        let (fanout, replaced) = streams.withLockedValue { streams -> (StreamFanout, StreamFanout?) in
            if let current = streams.fanouts[key], current.sessionID == frame.sessionID { return (current, nil) }
            let fresh = StreamFanout(streamID: key.stream, sessionID: frame.sessionID, configuration: configuration,
                                     flushers: flushers, counters: counters)
            defer { streams.fanouts[key] = fresh }
            return (fresh, streams.fanouts[key])
        }
        if let replaced {
            replaced.end()
        }
        fanout.publish(frame)
    }

    private func endAll() {
        let all = streams.withLockedValue { streams in
            defer { streams.fanouts.removeAll() }
            return Array(streams.fanouts.values)
        }
        for fanout in all { fanout.end() }
    }
}
