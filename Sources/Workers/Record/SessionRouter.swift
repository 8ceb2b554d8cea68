import Events
import NIOConcurrencyHelpers
import ServiceLifecycle

/// A worker's part for one publish session of one stream: it takes the session's source frames
/// in order, then is finished once (when the session ends, a new one starts, or at shutdown).
protocol SessionHandler: AnyObject, Sendable {
    func offer(_ frame: MediaFrame) async
    func finish() async
}

/// Feeds every live stream's source frames (`sluice.media.source`) to a handler made for its
/// publish session, or to none when `make` says the stream's channel does not ask for this
/// worker. The recording workers (MP4, VOD, snapshots, motion) share it.
final class SessionRouter<Handler: SessionHandler>: Sendable {
    /// The handler for a stream's new session; nil for none this session.
    typealias Make = @Sendable (StreamID, _ session: UInt64) async -> Handler?

    private struct Session {
        var id: UInt64
        var handler: Handler?
    }

    /// Made at construction, so no frame published after the worker exists is missed.
    private let subscription: BusSubscription
    private let make: Make
    private let sessions = NIOLockedValueBox([StreamID: Session]())

    init(bus: any EventBus, feed: WorkerFeed, make: @escaping Make) {
        subscription = bus.subscribe(to: .mediaSource, as: feed)
        self.make = make
    }

    /// Routes frames until graceful shutdown, then finishes the sessions still open.
    func run() async throws {
        try await cancelWhenGracefulShutdown {
            for try await delivery in self.subscription {
                guard case .frame(let frame) = delivery.record.value, frame.rendition.isEmpty,
                      let id = StreamID(delivery.record.key) else { continue }
                await self.route(frame, of: id)
            }
        }
        let open = sessions.withLockedValue { sessions in
            defer { sessions.removeAll() }
            return sessions.values.compactMap(\.handler)
        }
        for handler in open { await handler.finish() }
    }

    func route(_ frame: MediaFrame, of id: StreamID) async {
        var current = sessions.withLockedValue { $0[id] }
        if frame.kind == .end {
            guard current?.id == frame.sessionID else { return }
            sessions.withLockedValue { $0[id] = nil }
            await current?.handler?.finish()
            return
        }
        if current?.id != frame.sessionID {
            await current?.handler?.finish()
            current = Session(id: frame.sessionID, handler: await make(id, frame.sessionID))
            sessions.withLockedValue { $0[id] = current }
        }
        await current?.handler?.offer(frame)
    }
}
