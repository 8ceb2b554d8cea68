import Access
import Events
import Fanout
import Foundation
import Logging
import NIOCore
import NIOPosix
import SDP
import State
import Testing
import WebRTC
import WebRTCMedia
@testable import Ingest

/// WHIP publishes through the shared publish path, against a real `WebRTCServer` on loopback:
/// the push signature decides (missing, malformed, expired, wrong: 401; an unknown channel:
/// 404), a signed offer gets an answer and holds the stream's lock (a second publish, over WHIP
/// or any protocol, is told 409), and a grant whose peer never connects gives its lock back.
/// `DELETE` of an unconnected session gives it back too.
@Suite(.timeLimit(.minutes(1))) struct WHIPIngestServiceTests {
    let bus = EmbeddedEventBus()
    let sessions = InMemorySessionStore()
    let channels: SQLiteChannelStore
    let now = Date(timeIntervalSince1970: 1_700_000_000)
    let secret = "whip-test-secret"
    let logger = Logger(label: "test")

    init() throws {
        channels = try SQLiteChannelStore(path: nil)
    }

    func environment(compatibility: Bool = true) throws -> IngestEnvironment {
        let configuration = try IngestConfiguration(pushSecret: compatibility ? secret : nil, nodeID: "node-1")
        let now = now
        return IngestEnvironment(configuration: configuration, bus: bus, sessions: sessions, channels: channels,
                                 hub: FanoutHub(bus: bus, logger: logger), now: { now }, logger: logger)
    }

    func sign(_ name: String, secret: String? = nil, expiresIn: Int64 = 60) -> String {
        PushSignature(secret: secret ?? self.secret).sign(path: "/stream/\(name)", expires: Int64(now.timeIntervalSince1970) + expiresIn)
    }

    /// A WebRTC server on loopback, its service, and a way to stop both.
    func service(connectTimeout: Duration = .seconds(10), compatibility: Bool = true, consentTimeout: Duration = .seconds(30))
        async throws -> (WHIPIngestService, WebRTCServer) {
        let configuration = WebRTCConfiguration(host: "127.0.0.1", port: 0, advertisedAddress: "127.0.0.1",
                                                consentTimeout: consentTimeout)
        let server = WebRTCServer(configuration: configuration, certificate: try RTCCertificate.generate(),
                                  group: MultiThreadedEventLoopGroup.singleton, logger: logger)
        _ = try await server.start()
        return (WHIPIngestService(environment: try environment(compatibility: compatibility), server: server,
                                  connectTimeout: connectTimeout), server)
    }

    /// A browser's sendonly offer (H.264 and Opus), as WHIP clients post it.
    static func offer() throws -> WebRTCOffer {
        let fingerprint = (0..<32).map { String(format: "%02X", $0 * 7 % 256) }.joined(separator: ":")
        let text = """
        v=0
        o=- 4611731400430051336 2 IN IP4 127.0.0.1
        s=-
        t=0 0
        a=group:BUNDLE 0 1
        a=msid-semantic: WMS
        m=video 9 UDP/TLS/RTP/SAVPF 102
        c=IN IP4 0.0.0.0
        a=rtcp:9 IN IP4 0.0.0.0
        a=ice-ufrag:abcd
        a=ice-pwd:abcdefghijklmnopqrstuvwx
        a=fingerprint:sha-256 \(fingerprint)
        a=setup:actpass
        a=mid:0
        a=sendonly
        a=rtcp-mux
        a=rtpmap:102 H264/90000
        a=rtcp-fb:102 nack
        a=rtcp-fb:102 nack pli
        a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f
        a=ssrc:1111 cname:whiptest
        m=audio 9 UDP/TLS/RTP/SAVPF 111
        c=IN IP4 0.0.0.0
        a=ice-ufrag:abcd
        a=ice-pwd:abcdefghijklmnopqrstuvwx
        a=fingerprint:sha-256 \(fingerprint)
        a=setup:actpass
        a=mid:1
        a=sendonly
        a=rtcp-mux
        a=rtpmap:111 opus/48000/2
        a=fmtp:111 minptime=10;useinbandfec=1
        a=ssrc:2222 cname:whiptest

        """
        return try WebRTCOffer(SessionDescription(parsing: text))
    }

    func publish(_ service: WHIPIngestService, _ name: String, sign: String?) async throws -> Result<WebRTCSessionCreated, WebRTCRefusal> {
        await service.publish(name: name, sign: sign, query: [:], offer: try Self.offer(), clientIP: "127.0.0.1",
                              peer: "127.0.0.1:50000")
    }

    @Test func refusalsSayWhy() async throws {
        let (service, server) = try await service(compatibility: false)
        let channel = try await channels.create(StreamChannel(name: "Field camera"), pushSecret: "channel-secret")
        let id = channel.streamName
        let cases: [(String?, WebRTCRefusal.Kind)] = [
            (nil, .unauthorized),
            ("garbage", .unauthorized),
            ("1-00000000000000000000000000000000", .unauthorized),
            (sign(id, secret: "channel-secret", expiresIn: -10), .unauthorized),
            (sign(id), .unauthorized),  // the global secret does not open a channel
        ]
        for (signature, kind) in cases {
            guard case .failure(let refusal) = try await publish(service, id, sign: signature) else {
                Issue.record("accepted with sign \(signature ?? "nil")")
                continue
            }
            #expect(refusal.kind == kind, "\(signature ?? "nil"): \(refusal)")
        }
        guard case .failure(let unknown) = try await publish(service, "\(ChannelID())", sign: sign("x")) else {
            Issue.record("an unknown channel was accepted")
            return
        }
        #expect(unknown.kind == .notFound)
        // Nothing holds the stream after refusals.
        #expect(try await sessions.acquirePublishLock(StreamID(id)!, owner: "other", ttl: .seconds(5)))
        #expect(server.sessions.isEmpty)
        await server.shutdown()
        await bus.shutdown()
    }

    @Test func aSignedOfferIsAnsweredAndHoldsTheStream() async throws {
        let (service, server) = try await service()
        guard case .success(let created) = try await publish(service, "cam1", sign: sign("cam1")) else {
            Issue.record("refused")
            return
        }
        #expect(created.sessionID.count == 32)
        #expect(created.answer.contains("a=recvonly"))
        #expect(created.answer.contains("H264/90000"))
        #expect(server.session(id: created.sessionID)?.role == .whip)
        #expect(service.publishes.map(\.stream) == [StreamID("cam1")!])
        // The stream is taken, over WHIP and for everyone else.
        guard case .failure(let conflict) = try await publish(service, "cam1", sign: sign("cam1")) else {
            Issue.record("a second publish was accepted")
            return
        }
        #expect(conflict.kind == .conflict)
        #expect(try await sessions.acquirePublishLock(StreamID("cam1")!, owner: "other", ttl: .seconds(5)) == false)
        // DELETE of another stream's session, or an unknown one, is not found.
        #expect(await service.end(stream: StreamID("cam2")!, session: created.sessionID) == false)
        #expect(await service.end(stream: StreamID("cam1")!, session: "0123") == false)
        // DELETE before the peer connected: the lock goes back.
        #expect(await service.end(stream: StreamID("cam1")!, session: created.sessionID))
        try await waitUntil { try await sessions.acquirePublishLock(StreamID("cam1")!, owner: "next", ttl: .seconds(5)) }
        try await waitUntil { server.session(id: created.sessionID) == nil && service.publishes.isEmpty }
        await server.shutdown()
        await bus.shutdown()
    }

    @Test func aPeerThatNeverConnectsGivesTheLockBack() async throws {
        let (service, server) = try await service(connectTimeout: .milliseconds(200))
        guard case .success(let created) = try await publish(service, "cam1", sign: sign("cam1")) else {
            Issue.record("refused")
            return
        }
        #expect(try await sessions.acquirePublishLock(StreamID("cam1")!, owner: "other", ttl: .seconds(5)) == false)
        try await waitUntil { try await sessions.acquirePublishLock(StreamID("cam1")!, owner: "next", ttl: .seconds(5)) }
        try await waitUntil { server.session(id: created.sessionID) == nil }
        await server.shutdown()
        await bus.shutdown()
    }

    @Test func anOfferWithoutUsableMediaIsABadRequestAndKeepsNoLock() async throws {
        let (service, server) = try await service()
        let audioOnlyG711 = """
        v=0
        o=- 1 2 IN IP4 127.0.0.1
        s=-
        t=0 0
        m=audio 9 UDP/TLS/RTP/SAVPF 0
        c=IN IP4 0.0.0.0
        a=ice-ufrag:abcd
        a=ice-pwd:abcdefghijklmnopqrstuvwx
        a=fingerprint:sha-256 \((0..<32).map { _ in "AB" }.joined(separator: ":"))
        a=setup:actpass
        a=mid:0
        a=sendonly
        a=rtcp-mux
        a=rtpmap:0 PCMU/8000

        """
        let offer = try WebRTCOffer(SessionDescription(parsing: audioOnlyG711))
        let result = await service.publish(name: "cam1", sign: sign("cam1"), query: [:], offer: offer, clientIP: nil, peer: "p")
        guard case .failure(let refusal) = result else {
            Issue.record("accepted")
            return
        }
        #expect(refusal.kind == .badRequest)
        #expect(try await sessions.acquirePublishLock(StreamID("cam1")!, owner: "other", ttl: .seconds(5)))
        await server.shutdown()
        await bus.shutdown()
    }

    /// Polls `condition` every 10 ms for at most 5 s (locks go back on tasks).
    func waitUntil(_ condition: () async throws -> Bool) async throws {
        for _ in 0..<500 {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("condition not met in 5 s")
    }
}
