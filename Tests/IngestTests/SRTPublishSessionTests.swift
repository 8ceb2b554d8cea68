import Access
import Events
import Fanout
import Foundation
import Logging
import NIOCore
import State
import Synchronization
import Testing
@testable import Ingest

/// An SRT publisher's transport stream, fed as SRT delivers it (1316-byte messages), through
/// the shared publish path onto the bus: the frames an RTMP publisher's would be, `stream.online`
/// with protocol `srt`, and the end of an RTMP publisher that disconnects.
@Suite struct SRTPublishSessionTests {
    let bus = EmbeddedEventBus()
    let sessions = InMemorySessionStore()
    let policy: IngestPolicy
    let peer = SRTHandshakePeer(peer: "127.0.0.1:4000", peerIP: "127.0.0.1")

    init() throws {
        let logger = Logger(label: "test")
        let environment = IngestEnvironment(configuration: try IngestConfiguration(pushSecret: "secret", nodeID: "node-1"),
                                            bus: bus, sessions: sessions, channels: try SQLiteChannelStore(path: nil),
                                            hub: FanoutHub(bus: bus, logger: logger), logger: logger)
        policy = IngestPolicy(environment: environment, protocolName: "srt")
    }

    func grant() async throws -> PublishGrant {
        let sign = PushSignature(secret: "secret").sign(path: "/stream/cam1", expires: Int64(Date().timeIntervalSince1970) + 60)
        let attempt = PublishAttempt(name: "cam1", app: "stream", query: ["sign": sign], protocolName: "srt", connection: peer)
        guard case .success(let grant) = await policy.admitPublish(attempt) else { throw E("publish refused") }
        return grant
    }

    static func messages(_ fixture: String) throws -> [ByteBuffer] {
        let bytes = try Data(contentsOf: SRTTransportMuxerTests.fixtures.appendingPathComponent(fixture))
        return stride(from: 0, to: bytes.count, by: 1316).map { ByteBuffer(bytes: bytes[$0..<min($0 + 1316, bytes.count)]) }
    }

    func drain(_ subscription: BusSubscription) async throws -> [BusValue] {
        await bus.shutdown()
        var values: [BusValue] = []
        for try await delivery in subscription { values.append(delivery.record.value) }
        return values
    }

    @Test func aTransportStreamBecomesTheFramesOfAnRTMPPublisher() async throws {
        let media = bus.subscribe(to: .mediaSource, from: .end)
        let lifecycle = bus.subscribe(to: .streamLifecycle, from: .end)
        let messages = try Self.messages("h264-aac.ts")
        let session = SRTPublishSession(connection: peer, logger: policy.environment.logger)
        // Data may arrive before the publish is live: it waits, in order.
        for message in messages.prefix(5) { session.received(message) }
        await session.start(try await grant(), policy: policy)
        #expect(try await sessions.session(StreamID("cam1")!) != nil)
        for message in messages.dropFirst(5) { session.received(message) }
        session.closed()

        let frames = try await drain(media).compactMap { value -> MediaFrame? in
            if case .frame(let frame) = value { return frame }
            return nil
        }
        let expected = try SRTTransportMuxerTests.frames("h264-aac.ts")
        #expect(frames.filter { $0.kind == .video && !$0.isConfiguration }.count == 60)
        #expect(frames.filter { $0.kind == .audio && !$0.isConfiguration }.count
            == expected.filter { $0.kind == .audio && !$0.isConfiguration }.count)
        #expect(frames.first?.isSequenceHeader == true)
        #expect(frames.last?.kind == .end)
        #expect(frames.map(\.sequence) == Array(0..<UInt64(frames.count)))
        #expect(frames.contains { $0.startsSegment })  // stamped by the same cutter as RTMP's

        let events = try await drain(lifecycle).compactMap { value -> LifecycleEvent? in
            if case .lifecycle(let event) = value { return event }
            return nil
        }
        guard case .online(let online)? = events.first, case .offline(let offline)? = events.last else {
            Issue.record("lifecycle: \(events.map(\.type))")
            return
        }
        #expect(online.protocolName == "srt" && online.client == "127.0.0.1:4000")
        #expect(offline.reason == .disconnected)
    }

    @Test func aPublisherGoneBeforeItWentLiveEndsAtOnce() async throws {
        let lifecycle = bus.subscribe(to: .streamLifecycle, from: .end)
        let session = SRTPublishSession(connection: peer, logger: policy.environment.logger)
        session.closed()
        await session.start(try await grant(), policy: policy)
        #expect(session.publisher == nil)
        let types = try await drain(lifecycle).compactMap { value -> String? in
            if case .lifecycle(let event) = value { return event.type }
            return nil
        }
        #expect(types == ["stream.online", "stream.offline"])
    }

    /// An operator's kick (or a lost lock, or revalidation) reaches the SRT connection, and the
    /// publish then ends as stopped, not as a disconnect.
    @Test func aKickEndsThePublishAsStopped() async throws {
        let lifecycle = bus.subscribe(to: .streamLifecycle, from: .end)
        let stopped = StopRecorder()
        let session = SRTPublishSession(connection: stopped, logger: policy.environment.logger)
        await session.start(try await grant(), policy: policy)
        #expect(policy.environment.publishers.kick(StreamID("cam1")!, description: "Stopped by an operator."))
        #expect(stopped.descriptions.withLock { $0 } == ["Stopped by an operator."])
        session.closed()  // what the SRT connection's close then delivers
        let events = try await drain(lifecycle).compactMap { value -> LifecycleEvent? in
            if case .lifecycle(let event) = value { return event }
            return nil
        }
        guard case .offline(let offline)? = events.last else {
            Issue.record("lifecycle: \(events.map(\.type))")
            return
        }
        #expect(offline.reason == .stopped)
    }

    final class StopRecorder: PublishingConnection {
        let descriptions = Mutex<[String]>([])
        var remoteAddress: String { "127.0.0.1:4001" }
        var clientIP: String? { "127.0.0.1" }
        func stop(description: String) { descriptions.withLock { $0.append(description) } }
    }

    struct E: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }
}
