import Events
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Every live stream's fan-out on this node, fed from `sluice.media.source` on the event bus.
/// RTMP play and HTTP-FLV both attach their viewers here, so a stream is serialized once per
/// format however many viewers and protocols it has.
public final class FanoutHub: Sendable {
    /// Made at construction, so no frame published after the hub exists is missed, however
    /// late `run()` starts.
    private let subscription: BusSubscription
    private let configuration: StreamFanout.Configuration
    private let flushers: FlusherRegistry
    private let counters = ViewerCounters()
    private let streams = NIOLockedValueBox([StreamID: StreamFanout]())
    private let logger: Logger

    public init(bus: any EventBus, configuration: StreamFanout.Configuration = .init(),
                flushPolicy: FlushPolicy = .init(), logger: Logger) {
        self.subscription = bus.subscribe(to: .mediaSource, from: .end)
        self.configuration = configuration
        self.flushers = FlusherRegistry(policy: flushPolicy)
        self.logger = logger
    }

    /// The fan-out of `stream` if it is live on the bus.
    public func fanout(for stream: StreamID) -> StreamFanout? {
        streams.withLockedValue { $0[stream] }
    }

    /// Streams with a fan-out now.
    public var liveStreams: [StreamID] { streams.withLockedValue { Array($0.keys) }.sorted() }

    /// GOPs and frames dropped for slow viewers since start.
    public var droppedGOPs: Int { counters.droppedGOPs }
    public var droppedFrames: Int { counters.droppedFrames }

    /// Reads media frames from the bus until the task is cancelled or the bus closes.
    public func run() async throws {
        for try await delivery in subscription {
            guard case .frame(let frame) = delivery.record.value, let id = StreamID(delivery.record.key) else { continue }
            handle(frame, of: id)
        }
        endAll()
    }

    func handle(_ frame: MediaFrame, of id: StreamID) {
        if frame.kind == .end {
            let ended = streams.withLockedValue { streams -> StreamFanout? in
                guard let fanout = streams[id], fanout.sessionID == frame.sessionID else { return nil }
                streams[id] = nil
                return fanout
            }
            ended?.end()
            if ended != nil { logger.info("stream left fan-out", metadata: ["stream": "\(id)"]) }
            return
        }
        let (fanout, replaced) = streams.withLockedValue { streams -> (StreamFanout, StreamFanout?) in
            if let current = streams[id], current.sessionID == frame.sessionID { return (current, nil) }
            let fresh = StreamFanout(streamID: id, sessionID: frame.sessionID, configuration: configuration,
                                     flushers: flushers, counters: counters)
            defer { streams[id] = fresh }
            return (fresh, streams[id])
        }
        if let replaced {
            replaced.end()
        }
        fanout.publish(frame)
    }

    private func endAll() {
        let all = streams.withLockedValue { streams in
            defer { streams.removeAll() }
            return Array(streams.values)
        }
        for fanout in all { fanout.end() }
    }
}
