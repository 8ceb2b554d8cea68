import Events
import Fanout
import Foundation
import Logging
import State
import Testing
@testable import Ingest

/// One round of a node's watch over the others, on the in-memory session store: a live session
/// whose node stopped beating is ended and announced once; the living, the young and the node's
/// own sessions are left alone.
@Suite struct NodeWatchTests {
    let bus = EmbeddedEventBus()
    let sessions = InMemorySessionStore()
    let now = Date()
    let ttl = Duration.seconds(30)

    func watch() throws -> NodeWatch {
        let logger = Logger(label: "test")
        let fixed = now
        let environment = IngestEnvironment(configuration: try IngestConfiguration(nodeID: "node-1"), bus: bus, sessions: sessions,
                                            channels: try SQLiteChannelStore(path: nil), hub: FanoutHub(bus: bus, logger: logger),
                                            now: { fixed }, logger: logger)
        return NodeWatch(environment: environment, ttl: ttl)
    }

    /// A live session of `stream` on `node`, started `age` seconds ago, holding the stream's publish lock.
    func live(_ stream: String, on node: String, age: Double) async throws -> StreamSession {
        let session = StreamSession(streamID: StreamID(stream)!, sessionID: 7, node: node, startedAt: now - age)
        #expect(try await sessions.acquirePublishLock(session.streamID, owner: "\(node)/7", ttl: ttl))
        try await sessions.markLive(session)
        return session
    }

    @Test func aSilentNodesSessionIsEndedAndAnnouncedOnce() async throws {
        let lifecycle = bus.subscribe(to: .streamLifecycle, from: .end)
        let watch = try watch()
        let lost = try await live("lost", on: "node-2", age: 60)
        _ = try await live("young", on: "node-2", age: 5)
        try await sessions.heartbeat(node: "node-3", ttl: ttl)
        _ = try await live("beating", on: "node-3", age: 60)
        _ = try await live("own", on: "node-1", age: 60)

        await watch.beatAndWatch()
        await watch.beatAndWatch()

        #expect(try await sessions.isAlive(node: "node-1"), "the watch beats for its own node")
        #expect(try await sessions.liveSessions().map(\.streamID.rawValue) == ["beating", "own", "young"])
        // The lost node's lock is gone: an encoder may publish again elsewhere.
        #expect(try await sessions.acquirePublishLock(lost.streamID, owner: "node-3/8", ttl: ttl))
        await bus.shutdown()
        var announced: [LifecycleEvent] = []
        for try await delivery in lifecycle {
            if case .lifecycle(let event) = delivery.record.value { announced.append(event) }
        }
        #expect(announced.count == 1)
        guard case .offline(let offline)? = announced.first else {
            Issue.record("nothing announced: \(announced)")
            return
        }
        #expect(offline.streamID == lost.streamID && offline.sessionID == 7 && offline.reason == .nodeLost)
        #expect(abs(offline.durationSeconds - 60) < 0.001)
    }
}
