import Events
import Logging
import Media
import NIOCore
import NIOPosix
import RTMP
import State
import Testing
@testable import Workers

/// An RTMP server on 127.0.0.1 built from the RTMP target's own server handlers (the pipeline
/// `IngestService` builds, without TLS and limits): it accepts or refuses every publish to app
/// `live` and reports what it was sent.
final class LoopbackRTMPReceiver: Sendable {
    enum Event: Sendable {
        /// A publish was asked for (and accepted unless the receiver refuses); `connection` can close it.
        case publish(StreamRequest, connection: RTMPConnection)
        case media(RTMPMessage)
        case ended(PublishEndReason)
    }

    /// Takes the publisher's media as events.
    private struct Sink: RTMPPublishSink {
        let events: AsyncStream<Event>.Continuation
        func received(_ message: RTMPMessage) { events.yield(.media(message)) }
        func ended(_ reason: PublishEndReason) { events.yield(.ended(reason)) }
    }

    private struct Delegate: RTMPServerDelegate {
        let events: AsyncStream<Event>.Continuation
        let refusing: Bool

        func authorizePublish(_ request: StreamRequest, connection: RTMPConnection) async -> RTMPPublishAnswer {
            events.yield(.publish(request, connection: connection))
            return refusing ? .reject(code: "NetStream.Publish.BadName", description: "go away, https://evil.example")
                            : .accept(Sink(events: events))
        }

        func authorizePlay(_ request: StreamRequest, connection: RTMPConnection) async -> RTMPPlayAnswer {
            .reject(code: "NetStream.Play.Failed", description: "publish only")
        }
    }

    let events: AsyncStream<Event>
    let port: Int
    private let continuation: AsyncStream<Event>.Continuation
    private let group: MultiThreadedEventLoopGroup
    private let server: any Channel

    init(refusing: Bool = false) async throws {
        (events, continuation) = AsyncStream.makeStream(of: Event.self)
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let delegate = Delegate(events: continuation, refusing: refusing)
        let bootstrap = ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handlers = channel.pipeline.syncOperations
                    try handlers.addHandler(RTMPHandshakeHandler(timeout: .seconds(5)))
                    try handlers.addHandler(ByteToMessageHandler(ChunkDecoder()))
                    try handlers.addHandler(RTMPServerHandler(configuration: .init(applications: ["live"]), delegate: delegate,
                                                              logger: Logger(label: "receiver")))
                }
            }
        server = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        port = server.localAddress?.port ?? 0
    }

    func stop() async {
        try? await server.close()
        continuation.finish()
        try? await group.shutdownGracefully()
    }
}

/// A relay against a real RTMP server on loopback: the publish it makes, what it sends and in
/// which order, its status and events, a reconnect after the server drops it, and the refusals
/// that end it.
@Suite(.timeLimit(.minutes(1))) struct RelayPusherTests {
    let loop = MultiThreadedEventLoopGroup.singleton.next()
    let loopback = DestinationPolicy(allowing: [IPAddressRange("127.0.0.0/8")!])

    /// A pusher to `url` and the events it reports.
    func pusher(_ url: String, policy: DestinationPolicy? = nil) throws -> (RelayPusher, AsyncStream<RelayPusher.Event>) {
        let target = try #require(RTMPPublishTarget(url: url))
        let (events, reported) = AsyncStream.makeStream(of: RelayPusher.Event.self)
        let pusher = RelayPusher(target: target, loop: loop, tls: nil, policy: policy ?? loopback, logger: Logger(label: "relay")) {
            reported.yield($0)
        }
        return (pusher, events)
    }

    static func frame(_ kind: MediaFrame.Kind, dts: Int64, flags: MediaFrame.Flags = [], _ bytes: [UInt8]) -> MediaFrame {
        MediaFrame(kind: kind, flags: flags, dts: dts, sessionID: 1, sequence: 0, payload: ByteBuffer(bytes: bytes))
    }

    static let metadata: MediaFrame = {
        var body = ByteBuffer()
        body.writeAMF0(.string("onMetaData"))
        body.writeAMF0(.ecmaArray([AMF0Property("width", .number(1280))]))
        return MediaFrame(kind: .metadata, dts: 0, sessionID: 1, sequence: 0, payload: body)
    }()
    static let videoHeader = frame(.video, dts: 0, flags: .sequenceHeader, [0x17, 0x00, 0, 0, 0, 0x01, 0x64])
    static let audioHeader = frame(.audio, dts: 0, flags: .sequenceHeader, [0xAF, 0x00, 0x12, 0x10])

    /// The next receiver event `pick` keeps (skipping the others).
    func next<T>(_ events: inout AsyncStream<LoopbackRTMPReceiver.Event>.Iterator,
                 _ pick: (LoopbackRTMPReceiver.Event) -> T?) async throws -> T {
        while let event = await events.next() {
            if let picked = pick(event) { return picked }
        }
        throw ReceiverEnded()
    }

    struct ReceiverEnded: Error {}

    static func publish(_ event: LoopbackRTMPReceiver.Event) -> (StreamRequest, RTMPConnection)? {
        if case .publish(let request, let connection) = event { return (request, connection) }
        return nil
    }

    static func media(_ event: LoopbackRTMPReceiver.Event) -> RTMPMessage? {
        if case .media(let message) = event { return message }
        return nil
    }

    @Test func itPublishesItsStreamNameAndSendsHeadersThenFramesFromTheFirstKeyframe() async throws {
        let receiver = try await LoopbackRTMPReceiver()
        let (pusher, reported) = try pusher("rtmp://127.0.0.1:\(receiver.port)/live/cam-key?token=abc")
        var received = receiver.events.makeAsyncIterator()
        // Headers that arrive before the connection are kept for it.
        [Self.metadata, Self.videoHeader, Self.audioHeader].forEach(pusher.send)
        pusher.start()

        let (request, _) = try await next(&received, Self.publish)
        #expect(request.app == "live" && request.name == "cam-key" && request.query == ["token": "abc"])
        var events = reported.makeAsyncIterator()
        guard case .started(let reconnects)? = await events.next() else {
            Issue.record("not started")
            return
        }
        #expect(reconnects == 0 && pusher.currentStatus.state == .live)

        let keyframe = Self.frame(.video, dts: 1000, flags: .keyframe, [0x17, 0x01, 0, 0, 0, 0xAA])
        let frames = [Self.frame(.video, dts: 900, [0x27, 0x01, 0, 0, 0, 0xBB]),  // before any keyframe: not sent
                      Self.frame(.audio, dts: 950, [0xAF, 0x01, 0xCC]),             // likewise, the stream has video
                      keyframe, Self.frame(.audio, dts: 1010, [0xAF, 0x01, 0xDD]),
                      Self.frame(.video, dts: 1040, [0x27, 0x01, 0, 0, 0, 0xEE])]
        frames.forEach(pusher.send)
        var messages: [RTMPMessage] = []
        for _ in 0..<6 { messages.append(try await next(&received, Self.media)) }

        #expect(messages.map(\.type) == [.dataAMF0, .video, .audio, .video, .audio, .video])
        #expect(messages.map(\.timestamp) == [0, 0, 0, 0, 10, 40], "counted from the first keyframe")
        let sent = [Self.metadata, Self.videoHeader, Self.audioHeader] + frames[2...]
        #expect(messages.map { Array($0.payload.readableBytesView) } == sent.map { Array($0.payload.readableBytesView) })
        #expect(pusher.currentStatus.bytesSent > sent.reduce(0) { $0 + $1.payload.readableBytes })  // plus @setDataFrame
        pusher.stop()
        await receiver.stop()
    }

    /// A connection the destination drops is made again a second later, and the new one starts at
    /// a keyframe with the headers, its timestamps counted afresh.
    @Test func aDroppedConnectionIsMadeAgainAndStartsWithTheHeaders() async throws {
        let receiver = try await LoopbackRTMPReceiver()
        let (pusher, reported) = try pusher("rtmp://127.0.0.1:\(receiver.port)/live/cam")
        var received = receiver.events.makeAsyncIterator()
        var events = reported.makeAsyncIterator()
        [Self.metadata, Self.videoHeader].forEach(pusher.send)
        pusher.start()
        let (_, first) = try await next(&received, Self.publish)
        _ = await events.next()
        try await first.channel.close()

        _ = try await next(&received, Self.publish)
        guard case .started(let reconnects)? = await events.next() else {
            Issue.record("not started again")
            return
        }
        let status = pusher.currentStatus
        #expect(reconnects == 1 && status.reconnects == 1 && status.state == .live)
        #expect(status.lastError == "the destination closed the connection")

        pusher.send(Self.frame(.video, dts: 7000, flags: .keyframe, [0x17, 0x01, 0, 0, 0, 0xAA]))
        var messages: [RTMPMessage] = []
        for _ in 0..<3 { messages.append(try await next(&received, Self.media)) }
        #expect(messages.map(\.type) == [.dataAMF0, .video, .video] && messages.allSatisfy { $0.timestamp == 0 })
        pusher.stop()
        await receiver.stop()
    }

    /// A refused publish ends the relay for this session, in Sluice's words: the code, never the
    /// destination's description.
    @Test func aRefusedPublishFailsTheRelay() async throws {
        let receiver = try await LoopbackRTMPReceiver(refusing: true)
        let (pusher, reported) = try pusher("rtmp://127.0.0.1:\(receiver.port)/live/wrong-key")
        pusher.start()
        var events = reported.makeAsyncIterator()
        guard case .failed(let reconnects, let error)? = await events.next() else {
            Issue.record("not failed")
            return
        }
        #expect(reconnects == 0 && error == "the destination refused the publish (NetStream.Publish.BadName)")
        let status = pusher.currentStatus
        #expect(status.state == .failed && status.lastError == error, "\(status)")
        pusher.stop()
        await receiver.stop()
    }

    @Test func aDestinationThePolicyRefusesFailsAtOnce() async throws {
        let receiver = try await LoopbackRTMPReceiver()
        let (pusher, reported) = try pusher("rtmp://127.0.0.1:\(receiver.port)/live/cam", policy: DestinationPolicy())
        pusher.start()
        var events = reported.makeAsyncIterator()
        guard case .failed(_, let error)? = await events.next() else {
            Issue.record("not failed")
            return
        }
        #expect(error == "destination 127.0.0.1 refused by the destination policy (a loopback address)")
        #expect(pusher.currentStatus.state == .failed)
        pusher.stop()
        await receiver.stop()
        var received = receiver.events.makeAsyncIterator()
        #expect(await received.next() == nil, "nothing was published")
    }
}
