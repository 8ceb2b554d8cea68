import Events
import Fanout
import Foundation
import Logging
import NIOCore
import RTMP
import State
import Testing
@testable import Ingest

/// One publish session's media on the bus, without sockets: numbered frames in the order they
/// came, unreadable messages skipped, 32-bit timestamps unwrapped, and one end however many
/// times the session is ended.
@Suite struct StreamPublisherTests {
    let bus = EmbeddedEventBus()
    let environment: IngestEnvironment
    let connection: RecordedConnection

    init() throws {
        connection = try RecordedConnection()
        let logger = Logger(label: "test")
        environment = IngestEnvironment(configuration: try IngestConfiguration(nodeID: "node-1"), bus: bus,
                                        sessions: InMemorySessionStore(), channels: try SQLiteChannelStore(path: nil),
                                        hub: FanoutHub(bus: bus, logger: logger), logger: logger)
    }

    func publisher() -> StreamPublisher {
        let session = StreamSession(streamID: StreamID("cam1")!, sessionID: 42, node: "node-1", startedAt: Date())
        return StreamPublisher(session: session, lockOwner: "node-1/42", environment: environment, connection: connection.connection,
                               cutRules: .init(), continuing: nil, logger: environment.logger)
    }

    static func video(_ timestamp: UInt32, key: Bool) -> RTMPMessage {
        RTMPMessage(type: .video, streamID: 1, timestamp: timestamp, chunkStreamID: 6,
                    payload: ByteBuffer(bytes: [key ? 0x17 : 0x27, 0x01, 0, 0, 0, 0xAA]))
    }

    static func audio(_ timestamp: UInt32) -> RTMPMessage {
        RTMPMessage(type: .audio, streamID: 1, timestamp: timestamp, chunkStreamID: 4, payload: ByteBuffer(bytes: [0xAF, 0x01, 0xBB]))
    }

    /// Every frame the publisher put on the bus, once the bus is shut down.
    func published(_ media: BusSubscription) async throws -> [MediaFrame] {
        await bus.shutdown()
        var frames: [MediaFrame] = []
        for try await delivery in media {
            if case .frame(let frame) = delivery.record.value { frames.append(frame) }
        }
        return frames
    }

    @Test func framesAreNumberedInOrderAndUnreadableMessagesSkipped() async throws {
        let media = bus.subscribe(to: .mediaSource, from: .end)
        let publisher = publisher()
        publisher.received(Self.video(0, key: true))
        publisher.received(RTMPMessage(type: .setChunkSize, chunkStreamID: 2, payload: ByteBuffer(bytes: [0, 0, 16, 0])))
        publisher.received(Self.audio(10))
        publisher.received(RTMPMessage(type: .video, streamID: 1, timestamp: 20, chunkStreamID: 6, payload: ByteBuffer()))
        publisher.received(Self.video(40, key: false))
        publisher.ended(.unpublished)

        let frames = try await published(media)
        #expect(frames.map(\.kind) == [.video, .audio, .video, .end])
        #expect(frames.map(\.sequence) == [0, 1, 2, 3])
        #expect(frames.map(\.dts) == [0, 10, 40, 0])
        #expect(frames.allSatisfy { $0.sessionID == 42 })
        // Ingest decides the timeline: every media frame is stamped, and this short run opens one segment.
        #expect(frames.dropLast().allSatisfy { $0.timeline != nil })
        #expect(frames.filter(\.startsSegment).count == 1)
    }

    /// RTMP time wraps at 2^32 ms (RTMP specification 1.0 §5.3.1.3); the bus's does not.
    @Test func timestampsGoOnPastTheWrap() async throws {
        let media = bus.subscribe(to: .mediaSource, from: .end)
        let publisher = publisher()
        publisher.received(Self.video(UInt32.max - 19, key: true))
        publisher.received(Self.video(20, key: false))
        publisher.ended(.unpublished)
        let dts = try await published(media).filter { $0.kind == .video }.map(\.dts)
        #expect(dts == [Int64(UInt32.max) - 19, Int64(UInt32.max) + 21])
    }

    @Test func aSessionEndsOnceAndTakesNothingAfter() async throws {
        let media = bus.subscribe(to: .mediaSource, from: .end)
        let lifecycle = bus.subscribe(to: .streamLifecycle, from: .end)
        let publisher = publisher()
        publisher.received(Self.video(0, key: true))
        publisher.ended(.stopped)
        publisher.ended(.disconnected)
        publisher.received(Self.video(40, key: false))

        #expect(try await published(media).map(\.kind) == [.video, .end])
        var offline: [StreamOffline] = []
        for try await delivery in lifecycle {
            if case .lifecycle(.offline(let event)) = delivery.record.value { offline.append(event) }
        }
        #expect(offline.count == 1)
        #expect(offline.first?.reason == .stopped && offline.first?.bytes == 6 && offline.first?.sessionID == 42)
    }
}
