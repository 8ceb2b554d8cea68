import Events
import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Feeds the DVR worker's archivers the frames of transcoded renditions
/// (`sluice.media.renditions`): one archiver per stream, rendition and publish session, made
/// when a rendition's session first shows up, finished at its end frame or when a new session
/// of it begins, handed over when the group takes its partition away or at shutdown.
///
/// Unlike `SessionRouter` it does not join sessions under way from session state: a rendition
/// first read mid-session is archived from its first segment start after its sequence headers,
/// which a worker reading from the session's start (one machine) always has.
final class DVRRenditionRouter: Sendable {
    typealias Make = @Sendable (StreamID, _ rendition: String, _ session: UInt64) async -> DVRStreamArchiver?

    private struct Key: Hashable {
        var stream: StreamID
        var rendition: String
    }

    private struct Session {
        var id: UInt64
        var partition: Int
        var archiver: DVRStreamArchiver?
    }

    /// Made at construction, so no frame published after the worker exists is missed.
    private let subscription: BusSubscription
    private let make: Make
    private let logger: Logger
    /// Each rendition's session: the routing and revocation tasks both change it; archivers run outside the lock.
    private let sessions = NIOLockedValueBox([Key: Session]())

    init(bus: any EventBus, feed: WorkerFeed, logger: Logger, make: @escaping Make) {
        subscription = bus.subscribe(to: .mediaRenditions, as: feed)
        self.make = make
        self.logger = logger
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
                        guard case .frame(let frame) = delivery.record.value, !frame.rendition.isEmpty,
                              let id = StreamID(delivery.record.key) else { continue }
                        await self.route(frame, of: Key(stream: id, rendition: frame.rendition), partition: delivery.partition)
                    }
                    return true
                }
                while let framesEnded = try await tasks.next(), !framesEnded {}
                tasks.cancelAll()
            }
        }
        let open = sessions.withLockedValue { sessions in
            defer { sessions.removeAll() }
            return sessions.values.compactMap(\.archiver)
        }
        for archiver in open { await archiver.handOver() }
    }

    /// The group gave these partitions to another member.
    func release(_ partitions: [Int]) async {
        let gone = sessions.withLockedValue { sessions in
            let gone = sessions.filter { partitions.contains($0.value.partition) }
            for key in gone.keys { sessions[key] = nil }
            return gone.values.compactMap(\.archiver)
        }
        for archiver in gone { await archiver.handOver() }
    }

    func route(_ frame: MediaFrame, of stream: StreamID, partition: Int = 0) async {
        await route(frame, of: Key(stream: stream, rendition: frame.rendition), partition: partition)
    }

    private func route(_ frame: MediaFrame, of key: Key, partition: Int) async {
        let current = sessions.withLockedValue { $0[key] }
        if frame.kind == .end {
            guard current?.id == frame.sessionID else { return }
            sessions.withLockedValue { $0[key] = nil }
            await current?.archiver?.finish()
            return
        }
        var session = current
        if current?.id != frame.sessionID {
            await current?.archiver?.finish()
            session = Session(id: frame.sessionID, partition: partition, archiver: await make(key.stream, key.rendition, frame.sessionID))
            sessions.withLockedValue { [session] in $0[key] = session }
        }
        await session?.archiver?.offer(frame)
    }
}
