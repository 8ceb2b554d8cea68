import Access
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

/// The publish policy and lifecycle publisher against the embedded bus, without sockets.
@Suite struct IngestPolicyTests {
    let bus = EmbeddedEventBus()
    let sessions = InMemorySessionStore()
    let channels: SQLiteChannelStore
    let now = Date(timeIntervalSince1970: 1_700_000_000)
    let secret = "policy-test-secret"

    init() throws {
        channels = try SQLiteChannelStore(path: nil)
    }

    /// - Parameter compatibility: whether the global push secret is configured.
    func policy(compatibility: Bool = true) throws -> IngestPolicy {
        let logger = Logger(label: "test")
        let configuration = try IngestConfiguration(pushSecret: compatibility ? secret : nil, nodeID: "node-1")
        let now = now
        return IngestPolicy(environment: IngestEnvironment(configuration: configuration, bus: bus, sessions: sessions,
                                                           channels: channels, hub: FanoutHub(bus: bus, logger: logger),
                                                           now: { now }, logger: logger))
    }

    func request(_ name: String, sign: String?) -> StreamRequest {
        StreamRequest(app: "stream", name: name, query: sign.map { ["sign": $0] } ?? [:], tcURL: "rtmp://127.0.0.1/stream",
                      publishType: "live")
    }

    func validSign(_ name: String, secret: String? = nil) -> String {
        PushSignature(secret: secret ?? self.secret).sign(path: "/stream/\(name)", expires: Int64(now.timeIntervalSince1970) + 60)
    }

    func code(_ answer: RTMPPublishAnswer) -> String {
        switch answer {
        case .accept(let sink):
            sink.ended(.stopped)
            return "accepted"
        case .reject(let code, _):
            return code
        }
    }

    @Test func channelsPublishWithTheirOwnSecretOnly() async throws {
        let policy = try policy(compatibility: false)
        let channel = try await channels.create(StreamChannel(name: "Lobby"), pushSecret: "channel-secret")
        let name = channel.streamName
        #expect(code(await policy.authorizePublish(request(name, sign: validSign(name, secret: "channel-secret")),
                                                   connection: connection)) == "accepted")
        // Another secret, such as a global one, does not open a channel.
        #expect(code(await policy.authorizePublish(request(name, sign: validSign(name)), connection: connection))
            == "NetStream.Publish.Unauthorized")
        var disabled = channel
        disabled.enabled = false
        _ = try await channels.update(disabled, ifRevision: nil)
        #expect(code(await policy.authorizePublish(request(name, sign: validSign(name, secret: "channel-secret")),
                                                   connection: connection)) == "NetStream.Publish.Unauthorized")
        var expired = try #require(try await channels.channel(channel.id))
        expired.enabled = true
        expired.expiresAt = now.addingTimeInterval(-1)
        _ = try await channels.update(expired, ifRevision: nil)
        #expect(code(await policy.authorizePublish(request(name, sign: validSign(name, secret: "channel-secret")),
                                                   connection: connection)) == "NetStream.Publish.Unauthorized")
        // Without compatibility mode an id that is no channel is a bad name.
        let stranger = ChannelID().description
        #expect(code(await policy.authorizePublish(request(stranger, sign: validSign(stranger)), connection: connection))
            == "NetStream.Publish.BadName")
        await bus.shutdown()
    }

    var connection: RTMPConnection {
        RTMPConnection(channel: EmbeddedChannel(), remoteAddress: "127.0.0.1:5000")
    }

    func lifecycle(_ subscription: BusSubscription, count: Int) async throws -> [LifecycleEvent] {
        var iterator = subscription.makeAsyncIterator()
        var events: [LifecycleEvent] = []
        while events.count < count, let delivery = try await iterator.next() {
            if case .lifecycle(let event) = delivery.record.value { events.append(event) }
        }
        return events
    }

    @Test func refusalsCarryTheRightCodeAndAreAnnounced() async throws {
        let policy = try policy()
        let events = bus.subscribe(to: .streamLifecycle, from: .end)
        let cases: [(StreamRequest, String)] = [
            (request("cam 1", sign: validSign("cam 1")), "NetStream.Publish.BadName"),
            (request("cam1", sign: nil), "NetStream.Publish.Unauthorized"),
            (request("cam1", sign: "1-00000000000000000000000000000000"), "NetStream.Publish.Unauthorized"),
            (request("cam1", sign: validSign("cam2")), "NetStream.Publish.Unauthorized"),
        ]
        for (request, code) in cases {
            guard case .reject(let given, _) = await policy.authorizePublish(request, connection: connection) else {
                Issue.record("\(request.name) was accepted")
                continue
            }
            #expect(given == code)
        }
        let announced = try await lifecycle(events, count: cases.count)
        #expect(announced.map(\.type) == Array(repeating: "publish.rejected", count: cases.count))
        #expect(try await sessions.liveSessions().isEmpty)
        await bus.shutdown()
    }

    @Test func aPublishGoesOnlineCarriesFramesAndGoesOffline() async throws {
        let policy = try policy()
        let events = bus.subscribe(to: .streamLifecycle, from: .end)
        let media = bus.subscribe(to: .mediaSource, from: .end)
        guard case .accept(let sink) = await policy.authorizePublish(request("cam1", sign: validSign("cam1")),
                                                                      connection: connection) else {
            Issue.record("publish refused")
            return
        }
        #expect(try await sessions.session(StreamID("cam1")!) != nil)
        guard case .reject(let code, _) = await policy.authorizePublish(request("cam1", sign: validSign("cam1")),
                                                                         connection: connection) else {
            Issue.record("a second publisher was accepted")
            return
        }
        #expect(code == "NetStream.Publish.BadName")

        let keyframe = RTMPMessage(type: .video, streamID: 1, timestamp: 40, chunkStreamID: 6,
                                   payload: ByteBuffer(bytes: [0x17, 0x01, 0, 0, 0x28, 0xAA]))
        sink.received(keyframe)
        sink.received(RTMPMessage(type: .video, streamID: 1, timestamp: 80, chunkStreamID: 6, payload: ByteBuffer()))
        sink.ended(.unpublished)

        var frames = media.makeAsyncIterator()
        guard case .frame(let first)? = try await frames.next()?.record.value,
              case .frame(let end)? = try await frames.next()?.record.value else {
            Issue.record("frames missing")
            return
        }
        #expect(first.kind == .video && first.isKeyframe && first.dts == 40 && first.pts == 80 && first.codec == "avc1")
        #expect(end.kind == .end && end.sessionID == first.sessionID)  // the empty tag was unreadable: skipped

        let announced = try await lifecycle(events, count: 3)
        #expect(announced.map(\.type) == ["stream.online", "publish.rejected", "stream.offline"])
        guard case .offline(let offline) = announced.last else { return }
        #expect(offline.reason == .unpublished && offline.bytes == 6)
        await bus.shutdown()
    }
}
