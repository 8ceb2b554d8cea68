import Events
import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// A worker's part for one publish session of one stream: it takes the session's source frames
/// in order, then is finished once (when the session ends or a new one starts), or handed over
/// (the stream goes on at another worker of the group, or this one is going away).
protocol SessionHandler: AnyObject, Sendable {
    func offer(_ frame: MediaFrame) async
    /// A frame and its offset in the stream's partition (headers a join sends first carry their
    /// opener's), for a handler that notes where it stands in the log.
    func offer(_ frame: MediaFrame, at offset: Int64) async
    func finish() async
    /// Keeps what was recorded, as far as it goes, and ends nothing the next worker continues.
    func handOver() async
    /// Where this session's recording resumes when this worker did not see it begin: the
    /// offset of the first frame of the file another worker was writing (it died with it), read
    /// again from the log; nil: from the first keyframe read.
    var resumeOffset: Int64? { get }
}

extension SessionHandler {
    func offer(_ frame: MediaFrame, at offset: Int64) async { await offer(frame) }

    func handOver() async { await finish() }

    var resumeOffset: Int64? { nil }
}

/// Feeds every live stream's source frames (`sluice.media.source`) to a handler made for its
/// publish session, or to none when `make` says the stream's channel does not ask for this
/// worker. The recording workers (MP4, VOD, snapshots, motion) share it.
///
/// In a cluster (`joining` set) a session first read mid-way is joined at a keyframe, its
/// headers from session state first; when the group takes a stream's partition away its handler
/// is handed over. A handler with a `resumeOffset` behind the first frame read gets the frames
/// between them from a keyed read of the log first, and frames before it are passed over: a
/// file a dead worker was writing is made again from its first frame.
final class SessionRouter<Handler: SessionHandler>: Sendable {
    /// The handler for a stream's new session; nil for none this session.
    typealias Make = @Sendable (StreamID, _ session: UInt64) async -> Handler?

    private struct Session {
        var id: UInt64
        var partition: Int
        var handler: Handler?
        var join: SessionJoin?
        /// Frames before this offset are passed over (what the log already holds of files a
        /// previous worker stored); nil: none are.
        var resumeAt: Int64?
    }

    /// The most a catch-up read takes: frames and seconds (the log holds minutes; a file lasts
    /// seconds).
    static var catchUpLimit: (frames: Int, seconds: Int) { (200_000, 30) }

    /// Made at construction, so no frame published after the worker exists is missed.
    private let subscription: BusSubscription
    private let bus: any EventBus
    private let make: Make
    private let joining: SessionJoining?
    private let logger: Logger
    /// Each stream's session: the routing and revocation tasks both change it; handlers run outside the lock.
    private let sessions = NIOLockedValueBox([StreamID: Session]())

    init(bus: any EventBus, feed: WorkerFeed, joining: SessionJoining? = nil, logger: Logger = Logger(label: "sluice"),
         make: @escaping Make) {
        subscription = bus.subscribe(to: .mediaSource, as: feed)
        self.bus = bus
        self.joining = joining
        self.logger = logger
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
                        await self.route(frame, of: id, partition: delivery.partition, offset: delivery.offset,
                                         publishedAt: delivery.publishedAt)
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

    func route(_ frame: MediaFrame, of id: StreamID, partition: Int = 0, offset: Int64? = nil, publishedAt: Date = Date()) async {
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
            var session = Session(id: frame.sessionID, partition: partition, handler: handler, join: join,
                                  resumeAt: join == nil ? nil : handler?.resumeOffset)
            if let resume = session.resumeAt, let offset, resume < offset {
                await catchUp(id, from: resume, to: offset, session: &session)
            }
            current = session
        }
        guard var session = current else { return }
        await feed(frame, offset: offset, publishedAt: publishedAt, to: &session)
        sessions.withLockedValue { $0[id] = session }
    }

    /// One frame through the session's join, if it is joining, to its handler.
    private func feed(_ frame: MediaFrame, offset: Int64?, publishedAt: Date, to session: inout Session) async {
        if let resume = session.resumeAt, let offset {
            guard offset >= resume || frame.isConfiguration else { return }
            if offset >= resume { session.resumeAt = nil }
        }
        var frames = [frame]
        if var join = session.join {
            if case .open(let opening) = join.step(frame, publishedAt: publishedAt) { frames = opening } else { frames = [] }
            session.join = join.isOpen ? nil : join
        }
        for frame in frames {
            if let offset { await session.handler?.offer(frame, at: offset) } else { await session.handler?.offer(frame) }
        }
    }

    /// Feeds the session the stream's frames from `start` up to (not including) `end`, read again
    /// from the log: what a previous worker had in its unfinished file and this worker's group
    /// read passed over (records it took too old, or handled by the dead member).
    private func catchUp(_ id: StreamID, from start: Int64, to end: Int64, session: inout Session) async {
        let began = Date()
        let read = bus.subscribe(to: .mediaSource, key: id.rawValue, from: .offset(start))
        let limit = Self.catchUpLimit
        // The reading task collects; a timer bounds it (a cancelled read ends with nil, and what
        // was collected by then is fed).
        let deliveries: [BusDelivery] = await withTaskGroup(of: [BusDelivery]?.self) { tasks in
            tasks.addTask {
                var collected: [BusDelivery] = []
                var frames = read.makeAsyncIterator()
                for _ in 0..<limit.frames {
                    guard let delivery = try? await frames.next(), delivery.offset < end else { break }
                    collected.append(delivery)
                }
                return collected
            }
            tasks.addTask {
                try? await Task.sleep(for: .seconds(limit.seconds))
                return nil
            }
            var collected: [BusDelivery] = []
            for await result in tasks {
                if let result { collected = result }
                tasks.cancelAll()
            }
            return collected
        }
        await read.close()
        for delivery in deliveries {
            guard case .frame(let frame) = delivery.record.value, frame.rendition.isEmpty, delivery.record.key == id.rawValue else { continue }
            await feed(frame, offset: delivery.offset, publishedAt: delivery.publishedAt, to: &session)
        }
        logger.info("recording resumed from the log", metadata: [
            "stream": "\(id)", "from_offset": "\(start)", "to_offset": "\(end)", "frames": "\(deliveries.count)",
            "read_ms": "\(Int(Date().timeIntervalSince(began) * 1000))"])
    }
}
