import Events
import Foundation
import NIOConcurrencyHelpers
import ServiceLifecycle

/// A worker's part for one publish session of one stream: it takes the session's source frames
/// in order, then is finished once (when the session ends or a new one starts), or handed over
/// (the stream goes on at another worker of the group, or this one is going away).
protocol SessionHandler: AnyObject, Sendable {
    func offer(_ frame: MediaFrame) async
    func finish() async
    /// Keeps what was recorded, as far as it goes, and ends nothing the next worker continues.
    func handOver() async
}

extension SessionHandler {
    func handOver() async { await finish() }
}

/// Feeds every live stream's source frames (`sluice.media.source`) to a handler made for its
/// publish session, or to none when `make` says the stream's channel does not ask for this
/// worker. The recording workers (MP4, VOD, snapshots, motion) share it.
///
/// In a cluster (`joining` set) a session first read mid-way is joined at a keyframe, its
/// headers from session state first; when the group takes a stream's partition away its handler
/// is handed over.
final class SessionRouter<Handler: SessionHandler>: Sendable {
    /// The handler for a stream's new session; nil for none this session.
    typealias Make = @Sendable (StreamID, _ session: UInt64) async -> Handler?

    private struct Session {
        var id: UInt64
        var partition: Int
        var handler: Handler?
        var join: SessionJoin?
    }

    /// Made at construction, so no frame published after the worker exists is missed.
    private let subscription: BusSubscription
    private let make: Make
    private let joining: SessionJoining?
    private let sessions = NIOLockedValueBox([StreamID: Session]())

    init(bus: any EventBus, feed: WorkerFeed, joining: SessionJoining? = nil, make: @escaping Make) {
        subscription = bus.subscribe(to: .mediaSource, as: feed)
        self.joining = joining
        self.make = make
    }

    /// Routes frames until graceful shutdown, then hands over the sessions still open.
    func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await withThrowingTaskGroup(of: Bool.self) { tasks in
                tasks.addTask {
                    for await partitions in self.subscription.revokedPartitions { await self.release(partitions) }
                    return false
                }
                tasks.addTask {
                    for try await delivery in self.subscription {
                        guard case .frame(let frame) = delivery.record.value, frame.rendition.isEmpty,
                              let id = StreamID(delivery.record.key) else { continue }
                        await self.route(frame, of: id, partition: delivery.partition, publishedAt: delivery.publishedAt)
                    }
                    return true
                }
                while let framesEnded = try await tasks.next(), !framesEnded {}
                tasks.cancelAll()
            }
        }
        let open = sessions.withLockedValue { sessions in
            defer { sessions.removeAll() }
            return sessions.values.compactMap(\.handler)
        }
        for handler in open { await handler.handOver() }
    }

    /// The group gave these partitions to another member.
    func release(_ partitions: [Int]) async {
        let gone = sessions.withLockedValue { sessions in
            let gone = sessions.filter { partitions.contains($0.value.partition) }
            for id in gone.keys { sessions[id] = nil }
            return gone.values.compactMap(\.handler)
        }
        for handler in gone { await handler.handOver() }
    }

    func route(_ frame: MediaFrame, of id: StreamID, partition: Int = 0, publishedAt: Date = Date()) async {
        var current = sessions.withLockedValue { $0[id] }
        if frame.kind == .end {
            guard current?.id == frame.sessionID else { return }
            sessions.withLockedValue { $0[id] = nil }
            await current?.handler?.finish()
            return
        }
        if current?.id != frame.sessionID {
            await current?.handler?.finish()
            let handler = await make(id, frame.sessionID)
            let join = handler == nil ? nil : await joining?.join(frame, of: id, publishedAt: publishedAt, opener: .keyframe)
            current = Session(id: frame.sessionID, partition: partition, handler: handler, join: join)
        }
        guard var session = current else { return }
        var frames = [frame]
        if var join = session.join {
            if case .open(let opening) = join.step(frame, publishedAt: publishedAt) { frames = opening } else { frames = [] }
            session.join = join.isOpen ? nil : join
        }
        sessions.withLockedValue { $0[id] = session }
        for frame in frames { await session.handler?.offer(frame) }
    }
}
