import Access
import Events
import Fanout
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import RTMP
import SRT
import State
import Testing
@testable import Ingest

/// SRT callers' handshakes decided without sockets: every accepted streamid form, the reject
/// reason of every refusal, one publish lock shared with RTMP, the channel's passphrase and
/// latency in the acceptance, and a granted lock given back when the caller never connects.
@Suite struct SRTIngestAdmissionTests {
    let bus = EmbeddedEventBus()
    let sessions = InMemorySessionStore()
    let channels: SQLiteChannelStore
    let now = Date(timeIntervalSince1970: 1_700_000_000)
    let secret = "srt-test-secret"
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

    func admission(compatibility: Bool = true, handshakeTimeout: Duration = .seconds(10)) throws -> SRTIngestAdmission {
        SRTIngestAdmission(policy: IngestPolicy(environment: try environment(compatibility: compatibility), protocolName: "srt"),
                           handshakeTimeout: handshakeTimeout)
    }

    func sign(_ name: String, secret: String? = nil) -> String {
        PushSignature(secret: secret ?? self.secret).sign(path: "/stream/\(name)", expires: Int64(now.timeIntervalSince1970) + 60)
    }

    func request(_ streamID: String) -> SRTConnectRequest {
        SRTConnectRequest(streamID: streamID, peer: "127.0.0.1:4000", peerIP: "127.0.0.1")
    }

    /// `accepted:{role}`, or the reject reason.
    func outcome(_ decision: SRTConnectDecision) -> String {
        switch decision {
        case .accept(let acceptance): return "accepted:\(acceptance.role.rawValue)"
        case .reject(let reason): return "\(reason)"
        }
    }

    /// Makes a granted publish give its lock back, as a caller that never connected would.
    func release(_ decision: SRTConnectDecision, _ admission: SRTIngestAdmission) async {
        guard case .accept(let acceptance) = decision, let pending = acceptance.context as? SRTPendingPublish,
              let grant = pending.claim() else { return }
        await admission.policy.abandon(grant)
    }

    @Test(arguments: [
        { (name: String, sign: String) in "#!::r=stream/\(name),m=publish,s=\(sign)" },
        { name, sign in "#!::m=publish,u=obs,s=\(sign),r=\(name)" },
        { name, sign in "publish:stream/\(name)?sign=\(sign)" },
        { name, sign in "stream/\(name)?sign=\(sign)" },
    ] as [@Sendable (String, String) -> String])
    func everyPublishFormIsAdmitted(_ form: @Sendable (String, String) -> String) async throws {
        let admission = try admission()
        let decision = await admission.decide(request(form("cam1", sign("cam1"))))
        #expect(outcome(decision) == "accepted:publish")
        #expect(try await sessions.acquirePublishLock(StreamID("cam1")!, owner: "other", ttl: .seconds(5)) == false)
        await release(decision, admission)
        await bus.shutdown()
    }

    @Test func refusalsCarryTheirRejectReasonAndAreAnnounced() async throws {
        let admission = try admission(compatibility: false)
        let events = bus.subscribe(to: .streamLifecycle, from: .end)
        let channel = try await channels.create(StreamChannel(name: "Field camera"), pushSecret: "channel-secret")
        let id = channel.streamName
        let closed = try await channels.create(StreamChannel(name: "Closed", enabled: false), pushSecret: "closed-secret")
        let cases: [(String, SRTRejectReason)] = [
            ("#!::r=stream/\(id),m=publish,s=\(sign(id))", .unauthorized),  // the global secret does not open a channel
            ("#!::r=stream/\(id),m=publish", .unauthorized),
            ("#!::r=stream/\(id),m=publish,s=1-00000000000000000000000000000000", .unauthorized),
            ("#!::r=stream/\(ChannelID()),m=publish,s=\(sign("x"))", .notFound),
            ("#!::r=stream/\(closed.streamName),m=publish,s=\(sign(closed.streamName, secret: "closed-secret"))", .notFound),
            ("#!::r=live/\(id),m=publish,s=\(sign(id, secret: "channel-secret"))", .notFound),
            ("#!::r=stream/\(id),m=bidirectional", .badRequest),
            ("#!::r=stream/\(id),m=publish,m=request", .badRequest),
            ("", .badRequest),
        ]
        for (streamID, reason) in cases {
            #expect(outcome(await admission.decide(request(streamID))) == "\(reason)", "\(streamID)")
        }
        let announced = try await lifecycle(events, count: 5)
        #expect(announced.compactMap(\.rejectionCode) == ["SRT.Unauthorized", "SRT.Unauthorized", "SRT.Unauthorized",
                                                          "SRT.NotFound", "SRT.NotFound"])
        let accepted = await admission.decide(request("#!::r=stream/\(id),m=publish,s=\(sign(id, secret: "channel-secret"))"))
        #expect(outcome(accepted) == "accepted:publish")
        await release(accepted, admission)
        await bus.shutdown()
    }

    /// One publisher per stream whatever the protocol: SRT while RTMP publishes, and RTMP while SRT does.
    @Test func oneLockForRTMPAndSRT() async throws {
        let environment = try environment()
        let rtmp = IngestPolicy(environment: environment)
        let srt = SRTIngestAdmission(policy: IngestPolicy(environment: environment, protocolName: "srt"))
        let connection = RTMPConnection(channel: EmbeddedChannel(), remoteAddress: "127.0.0.1:5000")
        let publish = StreamRequest(app: "stream", name: "cam1", query: ["sign": sign("cam1")], tcURL: "rtmp://h/stream",
                                    publishType: "live")
        guard case .accept(let sink) = await rtmp.authorizePublish(publish, connection: connection) else {
            Issue.record("RTMP publish refused")
            return
        }
        #expect(outcome(await srt.decide(request("publish:stream/cam1?sign=\(sign("cam1"))"))) == "conflict")
        sink.ended(.unpublished)
        // The lock goes back on a task: the next publisher gets it within a moment.
        var granted = SRTConnectDecision.reject(.conflict)
        try await waitUntil {
            granted = await srt.decide(request("publish:stream/cam1?sign=\(sign("cam1"))"))
            return outcome(granted) == "accepted:publish"
        }
        guard case .reject(let code, _) = await rtmp.authorizePublish(publish, connection: connection) else {
            Issue.record("RTMP publish accepted while SRT holds the stream")
            return
        }
        #expect(code == "NetStream.Publish.BadName")
        await release(granted, srt)
        await bus.shutdown()
    }

    @Test func aCallerThatNeverConnectsGivesTheLockBack() async throws {
        let admission = try admission(handshakeTimeout: .milliseconds(50))
        let decision = await admission.decide(request("stream/cam1?sign=\(sign("cam1"))"))
        #expect(outcome(decision) == "accepted:publish")
        guard case .accept(let acceptance) = decision, let pending = acceptance.context as? SRTPendingPublish else {
            Issue.record("no pending publish in \(decision)")
            return
        }
        // The timeout takes the grant and gives the lock back. (Waiting for the lock alone could
        // end by the lock's expiry when a loaded machine delays the timeout's task.)
        try await waitUntil { pending.isTaken }
        try await waitUntil { try await sessions.acquirePublishLock(StreamID("cam1")!, owner: "next", ttl: .seconds(5)) }
        #expect(pending.claim() == nil)  // the connection, arriving late, finds nothing
        await bus.shutdown()
    }

    @Test func theChannelsPassphraseAndLatencyGoIntoTheAcceptance() async throws {
        let admission = try admission()
        var settings = StreamChannel(name: "Encrypted")
        settings.srt = StreamChannel.SRT(passphrase: String(repeating: "k", count: 32), latencyMs: 500)
        let channel = try await channels.create(settings, pushSecret: "channel-secret")
        let id = channel.streamName
        let decision = await admission.decide(request("#!::r=stream/\(id),m=publish,s=\(sign(id, secret: "channel-secret"))"))
        guard case .accept(let acceptance) = decision else {
            Issue.record("refused: \(outcome(decision))")
            return
        }
        #expect(acceptance.passphrase == String(repeating: "k", count: 32))
        #expect(acceptance.latencyMs == 500)
        await release(decision, admission)
        let plain = await admission.decide(request("stream/cam2?sign=\(sign("cam2"))"))
        guard case .accept(let defaults) = plain else { return }
        #expect(defaults.passphrase == nil && defaults.latencyMs == 120)
        await release(plain, admission)
        await bus.shutdown()
    }

    @Test func playNeedsALiveStreamAndTheChannelsToken() async throws {
        let admission = try admission()
        #expect(outcome(await admission.decide(request("#!::r=stream/cam1,m=request"))) == "notFound")
        try await sessions.markLive(StreamSession(streamID: StreamID("cam1")!, sessionID: 7, node: "node-1", startedAt: now))
        #expect(outcome(await admission.decide(request("#!::r=stream/cam1,m=request"))) == "accepted:play")
        #expect(outcome(await admission.decide(request("stream/cam1"))) == "accepted:play")

        var settings = StreamChannel(name: "Signed")
        settings.playback.signedUrls = true
        let channel = try await channels.create(settings, pushSecret: "channel-secret")
        let id = try #require(StreamID(channel.streamName))
        try await sessions.markLive(StreamSession(streamID: id, sessionID: 8, node: "node-1", startedAt: now))
        #expect(outcome(await admission.decide(request("#!::r=stream/\(id),m=request"))) == "unauthorized")
        let expires = Int64(now.timeIntervalSince1970) + 60
        let token = PlayToken(pushSecret: "channel-secret").sign(prefix: PlayToken.prefix(of: id.rawValue), expires: expires)
        #expect(outcome(await admission.decide(request("#!::r=stream/\(id),m=request,t=\(expires)-\(token)"))) == "accepted:play")
        #expect(outcome(await admission.decide(request("read:stream/\(id)?expires=\(expires)&token=\(token)"))) == "accepted:play")
        #expect(outcome(await admission.decide(request("#!::r=stream/\(id),m=request,t=\(expires)-\(String(token.reversed()))")))
            == "unauthorized")
        await bus.shutdown()
    }

    func lifecycle(_ subscription: BusSubscription, count: Int) async throws -> [LifecycleEvent] {
        var iterator = subscription.makeAsyncIterator()
        var events: [LifecycleEvent] = []
        while events.count < count, let delivery = try await iterator.next() {
            if case .lifecycle(let event) = delivery.record.value { events.append(event) }
        }
        return events
    }

    /// Polls `condition` every 10 ms for at most 5 s (the lock's release runs on a task).
    func waitUntil(_ condition: () async throws -> Bool) async throws {
        for _ in 0..<500 {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("condition not met in 5 s")
    }
}

extension LifecycleEvent {
    var rejectionCode: String? {
        if case .publishRejected(let rejected) = self { return rejected.code }
        return nil
    }
}
