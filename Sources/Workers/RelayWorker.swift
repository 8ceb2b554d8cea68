import Events
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import RTMP
import ServiceLifecycle
import State

/// Relays every live stream to its channel's enabled `relays[].url`s: one `RelayPusher` per
/// destination and publish session, fed from `sluice.media.source`. Where each stands goes to
/// session state once a second (for `GET /api/v1/streams/{id}/relays`), and `relay.started` /
/// `relay.failed` go out on `sluice.stream.lifecycle`.
public final class RelayWorker: Service, Sendable {
    struct Relayed {
        var sessionID: UInt64
        var pushers: [RelayPusher]
        /// The session's newest configurations and metadata: a destination added live gets them first.
        var headers: [MediaFrame.Kind: MediaFrame] = [:]
        /// The stream's partition of `sluice.media.source`.
        var partition = 0
        /// While joining a session under way: frames are passed over until it opens.
        var join: SessionJoin?
    }

    private let bus: any EventBus
    private let subscription: BusSubscription
    /// `sluice.channels` from its end: destinations added or removed while live apply at once.
    let channelChanges: BusSubscription
    let sessions: any SessionStore
    /// Where each session's destinations are read: its channel's enabled relays (`relayURLs`).
    let channels: any ChannelDirectory
    private let group: any EventLoopGroup
    private let tls: NIOSSLContext
    private let policy: DestinationPolicy
    private let resolver = DestinationResolver()
    let logger: Logger
    /// Each relayed stream: the routing, revocation, status and channel-change tasks share it; pushers stop
    /// outside the lock.
    let streams = NIOLockedValueBox([StreamID: Relayed]())
    private let joining: SessionJoining?

    /// - Parameters:
    ///   - tls: the client context for `rtmps://` destinations.
    ///   - policy: where destinations may be (`--allow-destination`); default: no loopback or
    ///     private addresses. Checked on the address connected to, after each lookup.
    ///   - joining: how to start on sessions under way (a cluster): a worker that takes a stream
    ///     over connects to its destinations at the next keyframe, headers first, so a destination
    ///     sees one reconnect.
    public init(bus: any EventBus, feed: WorkerFeed = .fromNow, joining: SessionJoining? = nil, sessions: any SessionStore,
                group: any EventLoopGroup, tls: NIOSSLContext, policy: DestinationPolicy = .init(), channels: any ChannelDirectory,
                logger: Logger) {
        self.bus = bus
        self.joining = joining
        subscription = bus.subscribe(to: .mediaSource, as: feed)
        channelChanges = bus.subscribe(to: .channels, from: .end)
        self.sessions = sessions
        self.group = group
        self.tls = tls
        self.policy = policy
        self.logger = logger
        self.channels = channels
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { await self.reportStatuses() }
                tasks.addTask { await self.followChannelChanges() }
                tasks.addTask {
                    for await partitions in self.subscription.revokedPartitions { self.release(partitions) }
                    // Other buses never revoke: wait for the frames to end.
                    while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
                }
                tasks.addTask { try await self.relayFrames() }
                // The frames end when the subscription does (shutdown); reporting goes with them.
                try await tasks.next()
                tasks.cancelAll()
            }
        }
        let ending = streams.withLockedValue { streams in
            defer { streams.removeAll() }
            return streams
        }
        for (id, relayed) in ending {
            relayed.pushers.forEach { $0.stop() }
            try? await sessions.setRelayStatuses([], of: id)
        }
    }

    private func relayFrames() async throws {
        for try await delivery in subscription {
            guard case .frame(let frame) = delivery.record.value, frame.rendition.isEmpty,
                  let id = StreamID(delivery.record.key) else { continue }
            await handle(frame, of: id, partition: delivery.partition, publishedAt: delivery.publishedAt)
        }
    }

    /// The group gave these partitions to another member: their relays stop here (and start
    /// there, at the next keyframe).
    func release(_ partitions: [Int]) {
        let gone = streams.withLockedValue { streams in
            let gone = streams.filter { partitions.contains($0.value.partition) }
            for id in gone.keys { streams[id] = nil }
            return gone
        }
        for relayed in gone.values { relayed.pushers.forEach { $0.stop() } }
    }

    func handle(_ frame: MediaFrame, of id: StreamID, partition: Int = 0, publishedAt: Date = Date()) async {
        let current = streams.withLockedValue { $0[id] }
        if frame.kind == .end {
            guard current?.sessionID == frame.sessionID else { return }
            streams.withLockedValue { $0[id] = nil }
            current?.pushers.forEach { $0.stop() }
            try? await sessions.setRelayStatuses([], of: id)
            return
        }
        var relayed: Relayed
        if let current, current.sessionID == frame.sessionID {
            relayed = current
        } else {
            current?.pushers.forEach { $0.stop() }
            let join = await joining?.join(frame, of: id, publishedAt: publishedAt, opener: .keyframe)
            relayed = Relayed(sessionID: frame.sessionID, pushers: [], partition: partition, join: join)
            if join == nil { relayed.pushers = await begin(frame.sessionID, of: id) }
        }
        if frame.isConfiguration { relayed.headers[frame.kind] = frame }
        var frames = [frame]
        if var join = relayed.join {
            if case .open(let opening) = join.step(frame, publishedAt: publishedAt) {
                frames = opening
                relayed.pushers = await begin(frame.sessionID, of: id)
            } else {
                frames = []
            }
            relayed.join = join.isOpen ? nil : join
        }
        // Destinations changed meanwhile (a channel change) are the entry's: kept, not overwritten.
        let pushers = streams.withLockedValue { streams in
            if let stored = streams[id], stored.sessionID == relayed.sessionID, stored.join == nil { relayed.pushers = stored.pushers }
            streams[id] = relayed
            return relayed.pushers
        }
        for frame in frames { pushers.forEach { $0.send(frame) } }
    }

    private func begin(_ sessionID: UInt64, of id: StreamID) async -> [RelayPusher] {
        let urls = await channels.channel(of: id, logger: logger)?.relayURLs ?? []
        return pushers(to: urls, of: id, session: sessionID)
    }

    /// Started pushers to `urls` (those usable) for one session of `id`.
    func pushers(to urls: [String], of id: StreamID, session sessionID: UInt64) -> [RelayPusher] {
        let pushers = urls.compactMap { url -> RelayPusher? in
            guard let target = RTMPPublishTarget(url: url) else {
                logger.warning("relay URL not usable", metadata: ["stream": "\(id)"])
                return nil
            }
            let pusher = RelayPusher(target: target, loop: group.next(), tls: target.secure ? tls : nil, policy: policy,
                                     resolver: resolver, logger: logger) {
                [weak self] event in self?.announce(event, of: id, session: sessionID, destination: target.description)
            }
            return pusher
        }
        if !pushers.isEmpty { logger.info("relaying stream", metadata: ["stream": "\(id)", "destinations": "\(pushers.count)"]) }
        pushers.forEach { $0.start() }
        return pushers
    }

    private func announce(_ event: RelayPusher.Event, of id: StreamID, session: UInt64, destination: String) {
        let lifecycle: LifecycleEvent
        switch event {
        case .started(let reconnects):
            lifecycle = .relayStarted(RelayEvent(streamID: id, sessionID: session, destination: destination, reconnects: reconnects))
        case .failed(let reconnects, let error):
            lifecycle = .relayFailed(RelayEvent(streamID: id, sessionID: session, destination: destination,
                                                reconnects: reconnects, error: error))
        }
        do {
            try bus.publish(BusRecord(key: lifecycle.key, value: .lifecycle(lifecycle)), to: .streamLifecycle)
        } catch {
            logger.error("relay event not published", metadata: ["type": "\(lifecycle.type)", "error": "\(error)"])
        }
    }

    /// Writes every relayed stream's statuses to session state, once a second, until cancelled.
    private func reportStatuses() async {
        while !Task.isCancelled {
            let snapshot = streams.withLockedValue { $0.mapValues { ($0.sessionID, $0.pushers.map(\.currentStatus)) } }
            for (id, (sessionID, statuses)) in snapshot where !statuses.isEmpty {
                do {
                    try await sessions.setRelayStatuses(statuses, of: id)
                    // The session may have ended (or its last destination been removed live) while
                    // this was written: leave nothing stale.
                    if streams.withLockedValue({ $0[id].map { $0.sessionID != sessionID || $0.pushers.isEmpty } ?? true }) {
                        try await sessions.setRelayStatuses([], of: id)
                    }
                } catch {
                    logger.warning("relay status not stored", metadata: ["stream": "\(id)", "error": "\(error)"])
                }
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
