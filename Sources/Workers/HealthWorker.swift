import Events
import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import State

/// Watches every live stream's source frames (`sluice.media.source`) against the health rules
/// (`StreamHealth`): once a tick it asks each session's rules what is wrong, and when a warning
/// starts or clears it records the session's list in session state (any API node shows it as
/// the stream's `health`) and announces `stream.health` on `sluice.stream.lifecycle` (the webhook
/// worker delivers it). A session's warnings end with the session: its `stream.offline` says
/// so, no clears follow.
public final class HealthWorker: Service, Sendable {
    public struct Configuration: Sendable {
        /// How often the rules are asked. Default 1 s.
        public var tick: Duration
        /// Ticks between re-reads of a stream's channel (LL-HLS on, expiry). Default 30.
        public var channelRefreshTicks: Int
        public var rules: StreamHealth.Rules

        public init(tick: Duration = .seconds(1), channelRefreshTicks: Int = 30, rules: StreamHealth.Rules = .init()) {
            self.tick = tick
            self.channelRefreshTicks = max(1, channelRefreshTicks)
            self.rules = rules
        }
    }

    private let router: SessionRouter<HealthWatcher>
    private let watchers: HealthWatchers
    private let configuration: Configuration

    /// - Parameters:
    ///   - channels: where each stream's channel (LL-HLS on, expiry) comes from.
    ///   - now: the clock frames are timed by and the rules are asked at.
    public init(bus: any EventBus, feed: WorkerFeed = .fromNow, sessions: any SessionStore, channels: any ChannelDirectory,
                node: String, configuration: Configuration = .init(), now: @escaping @Sendable () -> Date = { Date() },
                logger: Logger) {
        let watchers = HealthWatchers()
        self.watchers = watchers
        self.configuration = configuration
        let place = HealthWatcher.Place(bus: bus, sessions: sessions, channels: channels, node: node, now: now, logger: logger)
        router = SessionRouter(bus: bus, feed: feed, logger: logger) { id, session in
            let channel = try? await channels.channel(of: id)
            // A session taken over from another worker (a rebalance, a restart) goes on from the
            // warnings it announced, so none is announced twice.
            let announced = (try? await sessions.health(of: id, sessionID: session)) ?? []
            let watcher = HealthWatcher(streamID: id, sessionID: session, rules: configuration.rules,
                                        context: StreamHealth.Context(channel: channel), announced: announced, place: place,
                                        watchers: watchers)
            watchers.add(watcher)
            return watcher
        }
    }

    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await self.router.run() }
            tasks.addTask {
                await cancelWhenGracefulShutdown {
                    var ticks = 0
                    while !Task.isCancelled {
                        try? await Task.sleep(for: self.configuration.tick)
                        ticks &+= 1
                        await self.tick(refreshingChannels: ticks % self.configuration.channelRefreshTicks == 0)
                    }
                }
            }
            try await tasks.next()
            tasks.cancelAll()
        }
    }

    /// One source frame, as `run` hands it on; a test feeds frames by hand.
    func route(_ frame: MediaFrame, of stream: StreamID) async {
        await router.route(frame, of: stream)
    }

    /// Asks every session's rules once; a test drives it by hand.
    func tick(refreshingChannels: Bool = false) async {
        for watcher in watchers.all {
            if refreshingChannels { await watcher.refreshChannel() }
            await watcher.evaluate()
        }
    }
}

/// The sessions being watched, for the ticker (the router owns their lifetimes).
final class HealthWatchers: Sendable {
    // A lock: adding, removing and listing never suspend.
    private let watchers = NIOLockedValueBox([ObjectIdentifier: HealthWatcher]())

    func add(_ watcher: HealthWatcher) { watchers.withLockedValue { $0[ObjectIdentifier(watcher)] = watcher } }
    func remove(_ watcher: HealthWatcher) { watchers.withLockedValue { $0[ObjectIdentifier(watcher)] = nil } }
    var all: [HealthWatcher] { watchers.withLockedValue { Array($0.values) } }
}

/// One publish session's rules and the warnings announced for it.
final class HealthWatcher: SessionHandler, Sendable {
    /// What every watcher of a worker shares.
    struct Place: Sendable {
        var bus: any EventBus
        var sessions: any SessionStore
        var channels: any ChannelDirectory
        var node: String
        var now: @Sendable () -> Date
        var logger: Logger
    }

    private struct State {
        var health: StreamHealth
        var tracker = StreamHealthTracker()
        var finished = false
    }

    let streamID: StreamID
    let sessionID: UInt64
    private let place: Place
    private let watchers: HealthWatchers
    // A lock: frames (the router's task) and ticks (the ticker's) both touch the rules; neither suspends inside.
    private let state: NIOLockedValueBox<State>

    init(streamID: StreamID, sessionID: UInt64, rules: StreamHealth.Rules, context: StreamHealth.Context,
         announced: [HealthWarning] = [], place: Place, watchers: HealthWatchers) {
        self.streamID = streamID
        self.sessionID = sessionID
        self.place = place
        self.watchers = watchers
        state = NIOLockedValueBox(State(health: StreamHealth(rules: rules, context: context, startedAt: place.now()),
                                        tracker: StreamHealthTracker(current: announced)))
    }

    func offer(_ frame: MediaFrame) async {
        guard let observation = StreamHealth.Observation(frame) else { return }
        let now = place.now()
        state.withLockedValue { $0.health.observe(observation, at: now) }
    }

    func finish() async {
        watchers.remove(self)
        state.withLockedValue { $0.finished = true }
    }

    func refreshChannel() async {
        guard let channel = try? await place.channels.channel(of: streamID) else { return }
        state.withLockedValue { $0.health.context = StreamHealth.Context(channel: channel) }
    }

    /// Asks the rules; records and announces what started or cleared.
    func evaluate() async {
        let now = place.now()
        let (changes, current) = state.withLockedValue { state -> ([StreamHealthTracker.Change], [HealthWarning]) in
            guard !state.finished else { return ([], []) }
            let changes = state.tracker.update(state.health.warnings(at: now))
            return (changes, state.tracker.current)
        }
        guard !changes.isEmpty else { return }
        do {
            try await place.sessions.setHealth(current, of: streamID, sessionID: sessionID)
        } catch {
            place.logger.warning("stream health not recorded", metadata: ["stream": "\(streamID)", "error": "\(error)"])
        }
        for change in changes {
            let event = LifecycleEvent.health(StreamHealthChanged(streamID: streamID, sessionID: sessionID, warning: change.warning,
                                                                  state: change.state, warnings: current))
            place.logger.info("stream health", metadata: ["stream": "\(streamID)", "code": "\(change.warning.code.rawValue)",
                                                          "state": "\(change.state.rawValue)"])
            do {
                try place.bus.publish(BusRecord(key: event.key, value: .lifecycle(event)), to: .streamLifecycle)
            } catch {
                place.logger.error("stream.health not published", metadata: ["stream": "\(streamID)", "error": "\(error)"])
            }
        }
    }
}
