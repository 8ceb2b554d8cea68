import Events
import Fanout
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import RTMP
import State
import Testing
@testable import Ingest

/// Records what reaches the end of a connection's pipeline: a kick arrives as a user event
/// (`RTMPConnection.stop`), which the RTMP handler would turn into an `onStatus` and a close.
final class PipelineEvents: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    var events: [String] = []

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        events.append("\(event)")
    }
}

/// An RTMP connection on an embedded channel, and the events its pipeline saw.
struct RecordedConnection {
    let channel = EmbeddedChannel()
    let recorder = PipelineEvents()
    var connection: RTMPConnection { RTMPConnection(channel: channel, remoteAddress: "127.0.0.1:5000") }

    init() throws {
        try channel.pipeline.syncOperations.addHandler(recorder)
    }
}

/// Which publishers a node holds, and that an operator's kick reaches only the session it names.
@Suite struct PublisherRegistryTests {
    let bus = EmbeddedEventBus()
    let environment: IngestEnvironment

    init() throws {
        let logger = Logger(label: "test")
        let channels = try SQLiteChannelStore(path: nil)
        environment = IngestEnvironment(configuration: try IngestConfiguration(nodeID: "node-1"), bus: bus,
                                        sessions: InMemorySessionStore(), channels: channels,
                                        hub: FanoutHub(bus: bus, logger: logger), logger: logger)
    }

    func publisher(_ stream: String, session: UInt64, on connection: RTMPConnection) -> StreamPublisher {
        let streamSession = StreamSession(streamID: StreamID(stream)!, sessionID: session, node: "node-1", startedAt: Date())
        return StreamPublisher(session: streamSession, lockOwner: "node-1/\(session)", environment: environment,
                               connection: connection, cutRules: .init(), continuing: nil, logger: environment.logger)
    }

    @Test func sessionsAndSecretsAreListedPerStream() throws {
        let registry = PublisherRegistry()
        let (one, two) = (try RecordedConnection(), try RecordedConnection())
        registry.add(publisher("cam1", session: 11, on: one.connection), connection: one.connection, secret: "secret-1")
        registry.add(publisher("cam2", session: 22, on: two.connection), connection: two.connection, secret: "secret-2")
        #expect(registry.count == 2)
        #expect(registry.session(of: StreamID("cam1")!) == 11)
        #expect(registry.session(of: StreamID("cam2")!) == 22)
        #expect(registry.session(of: StreamID("cam3")!) == nil)
        let listed = registry.signedWith().map { "\($0.stream)/\($0.session)/\($0.secret)" }.sorted()
        #expect(listed == ["cam1/11/secret-1", "cam2/22/secret-2"])
    }

    @Test func aKickReachesOnlyTheNamedSession() throws {
        let registry = PublisherRegistry()
        let recorded = try RecordedConnection()
        let stream = StreamID("cam1")!
        registry.add(publisher("cam1", session: 7, on: recorded.connection), connection: recorded.connection, secret: "s")

        #expect(!registry.kick(stream, session: 8, description: "Not you."))
        #expect(!registry.kick(StreamID("cam2")!, description: "Nobody here."))
        #expect(recorded.recorder.events.isEmpty)

        #expect(registry.kick(stream, session: 7, description: "Channel disabled."))
        #expect(recorded.recorder.events.count == 1)
        #expect(recorded.recorder.events.first?.contains("Channel disabled.") == true)
        // Without a session, whichever session publishes the stream is stopped.
        #expect(registry.kick(stream))
        #expect(recorded.recorder.events.last?.contains("Stopped by an operator.") == true)
    }

    /// An encoder that reconnects replaces its old session before the old one has ended: the old
    /// session ending must not unregister the new one.
    @Test func anEndingOldSessionLeavesItsSuccessor() throws {
        let registry = PublisherRegistry()
        let (old, new) = (try RecordedConnection(), try RecordedConnection())
        let first = publisher("cam1", session: 1, on: old.connection)
        let second = publisher("cam1", session: 2, on: new.connection)
        registry.add(first, connection: old.connection, secret: "s")
        registry.add(second, connection: new.connection, secret: "s")
        #expect(registry.count == 1)
        #expect(registry.session(of: StreamID("cam1")!) == 2)

        registry.remove(first)
        #expect(registry.session(of: StreamID("cam1")!) == 2)
        #expect(registry.kick(StreamID("cam1")!, session: 2))
        #expect(new.recorder.events.count == 1 && old.recorder.events.isEmpty)

        registry.remove(second)
        #expect(registry.session(of: StreamID("cam1")!) == nil)
        #expect(registry.count == 0)
    }
}

/// The connection limit, and that a closed connection frees its place.
@Suite struct ConnectionRegistryTests {
    @Test func theLimitHoldsAndClosingFreesAPlace() throws {
        let registry = ConnectionRegistry()
        let connections = try (0..<3).map { _ in try RecordedConnection() }
        #expect(registry.add(connections[0].connection, limit: 2))
        #expect(registry.add(connections[1].connection, limit: 2))
        #expect(!registry.add(connections[2].connection, limit: 2))
        #expect(registry.count == 2)

        try connections[0].channel.close().wait()
        connections[0].channel.embeddedEventLoop.run()  // the close future completes on the loop
        #expect(registry.count == 1)
        #expect(registry.add(connections[2].connection, limit: 2))
        let open = Set(registry.all.map { ObjectIdentifier($0.channel) })
        #expect(open == Set([connections[1], connections[2]].map { ObjectIdentifier($0.channel) }))
    }

    @Test func aRefusedConnectionIsNotTrackedWhenItCloses() throws {
        let registry = ConnectionRegistry()
        let (kept, refused) = (try RecordedConnection(), try RecordedConnection())
        #expect(registry.add(kept.connection, limit: 1))
        #expect(!registry.add(refused.connection, limit: 1))
        try refused.channel.close().wait()
        refused.channel.embeddedEventLoop.run()
        #expect(registry.count == 1)
        #expect(registry.all.first.map { ObjectIdentifier($0.channel) } == ObjectIdentifier(kept.channel))
    }
}
