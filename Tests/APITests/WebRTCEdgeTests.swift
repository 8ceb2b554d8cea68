import Access
import Events
import Fanout
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOHTTP1
import SDP
import State
import Testing
import WebRTCMedia
@testable import API

/// WHEP and WHIP at the HTTP edge, on a testing channel behind the server's own pipeline:
/// admission before playback, the answers' status, headers and CORS, refusals mapped to statuses,
/// and where a publisher's signature is read from. `WHEPPlayback` and `WHIPPublishing` are the
/// edge's seams; here they are recording fakes (the real ones are tested in WebRTCMedia, Ingest
/// and end to end).
@Suite(.timeLimit(.minutes(1)))
struct WebRTCEdgeTests {
    /// A browser's recvonly offer (Chromium's shape, trimmed).
    static let offer = """
        v=0\r
        o=- 4611731400430051336 2 IN IP4 127.0.0.1\r
        s=-\r
        t=0 0\r
        a=group:BUNDLE 0 1\r
        a=msid-semantic: WMS\r
        m=video 9 UDP/TLS/RTP/SAVPF 102\r
        c=IN IP4 0.0.0.0\r
        a=rtcp:9 IN IP4 0.0.0.0\r
        a=ice-ufrag:Ab3d\r
        a=ice-pwd:0123456789abcdefghijklmn\r
        a=ice-options:trickle\r
        a=fingerprint:sha-256 \(fingerprint)\r
        a=setup:actpass\r
        a=mid:0\r
        a=recvonly\r
        a=rtcp-mux\r
        a=rtcp-rsize\r
        a=rtpmap:102 H264/90000\r
        a=rtcp-fb:102 nack\r
        a=rtcp-fb:102 nack pli\r
        a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r
        c=IN IP4 0.0.0.0\r
        a=rtcp:9 IN IP4 0.0.0.0\r
        a=ice-ufrag:Ab3d\r
        a=ice-pwd:0123456789abcdefghijklmn\r
        a=fingerprint:sha-256 \(fingerprint)\r
        a=setup:actpass\r
        a=mid:1\r
        a=recvonly\r
        a=rtcp-mux\r
        a=rtpmap:111 opus/48000/2\r
        a=fmtp:111 minptime=10;useinbandfec=1\r

        """
    static let fingerprint = (0..<32).map { String(format: "%02X", $0 &* 7) }.joined(separator: ":")
    static let session = "00112233445566778899aabbccddeeff"
    static let answer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-lite\r\n"

    /// WHEP or WHIP as the edge sees it: each call recorded, answered with `result`.
    final class Recorder: WHEPPlayback, WHIPPublishing, Sendable {
        struct Call: Sendable, Equatable {
            var stream: String
            var rendition: String = ""
            var sign: String?
            var query: [String: String] = [:]
            var clientIP: String?
            var peer: String?
        }
        let calls = NIOLockedValueBox([Call]())
        let ended = NIOLockedValueBox([String]())
        let result: Result<WebRTCSessionCreated, WebRTCRefusal>

        init(_ result: Result<WebRTCSessionCreated, WebRTCRefusal> = .success(.init(sessionID: session, answer: answer))) {
            self.result = result
        }

        func play(stream: StreamID, rendition: String, offer: WebRTCOffer, clientIP: String?) async
            -> Result<WebRTCSessionCreated, WebRTCRefusal> {
            calls.withLockedValue { $0.append(Call(stream: stream.rawValue, rendition: rendition, clientIP: clientIP)) }
            return result
        }

        func publish(name: String, sign: String?, query: [String: String], offer: WebRTCOffer, clientIP: String?, peer: String)
            async -> Result<WebRTCSessionCreated, WebRTCRefusal> {
            calls.withLockedValue { $0.append(Call(stream: name, sign: sign, query: query, clientIP: clientIP, peer: peer)) }
            return result
        }

        func end(stream: StreamID, session: String) async -> Bool {
            ended.withLockedValue { $0.append(session) }
            return session == WebRTCEdgeTests.session
        }

        var viewers: [WebRTCViewerStatistics] { [] }
        var count: Int { calls.withLockedValue { $0.count } }
    }

    static func connection(access: PlaybackAccess? = nil, whep: Recorder?, whip: Recorder? = nil) async throws
        -> NIOAsyncTestingChannel {
        let hub = FanoutHub(bus: EmbeddedEventBus(), logger: Logger(label: "test"))
        let channel = NIOAsyncTestingChannel()
        try await channel.eventLoop.submit {
            let handler = HTTPHandler(hub: hub, api: nil, packaged: nil, access: access, metrics: ServerMetrics(hub: hub, sessions: nil),
                                      readiness: nil, whep: whep, whip: whip, logger: Logger(label: "test"))
            try HTTPService.configure(channel.pipeline.syncOperations, idleTimeout: .seconds(30), handler: handler)
        }.get()
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
        return channel
    }

    static func post(_ path: String, body: String = offer, type: String = "application/sdp", headers: [String] = []) -> String {
        (["POST \(path) HTTP/1.1", "Host: h", "Content-Type: \(type)", "Content-Length: \(body.utf8.count)"] + headers)
            .joined(separator: "\r\n") + "\r\n\r\n" + body
    }

    static func exchange(_ request: String, on channel: NIOAsyncTestingChannel, count: Int = 1) async throws -> HTTPEdgeTests.Reply {
        try #require(try await HTTPEdgeTests.exchange(request, on: channel, count: count).last)
    }

    /// CORS as RFC 9725 §4.8 asks: any origin, the methods and headers WHEP/WHIP clients use,
    /// `Location` readable.
    static func expectCORS(_ reply: HTTPEdgeTests.Reply) {
        #expect(reply.headers["access-control-allow-origin"] == "*")
        #expect(reply.headers["access-control-allow-methods"] == "POST, DELETE, PATCH, OPTIONS")
        #expect(reply.headers["access-control-allow-headers"] == "Authorization, Content-Type, If-Match")
        #expect(reply.headers["access-control-expose-headers"] == "Location, ETag, Link")
    }

    /// A channel that signs playback, its stream name and a token for it.
    static func signedChannel() async throws -> (PlaybackAccess, stream: String, token: PlayToken) {
        let store = try SQLiteChannelStore(path: nil)
        var channel = StreamChannel(name: "signed")
        channel.playback.signedUrls = true
        let created = try await store.create(channel, pushSecret: "s3cret")
        let access = PlaybackAccess(channels: store, logger: Logger(label: "test"))
        return (access, created.id.description, PlayToken(pushSecret: "s3cret"))
    }

    @Test func anUnsignedPlayOfASignedChannelIsRefusedBeforeWHEPIsAsked() async throws {
        let (access, stream, _) = try await Self.signedChannel()
        let whep = Recorder()
        let channel = try await Self.connection(access: access, whep: whep)
        let reply = try await Self.exchange(Self.post("/\(stream)/whep"), on: channel)
        #expect(reply.status == 403)
        #expect(reply.body.contains(#""code":"forbidden""#))
        Self.expectCORS(reply)
        let forged = try await Self.exchange(Self.post("/\(stream)/whep", headers: [
            "Authorization: Bearer 4102444800-\(String(repeating: "ab", count: 32))"]), on: channel)
        #expect(forged.status == 403)
        #expect(whep.count == 0, "WHEP was asked before admission")
    }

    @Test func aSignedPlayGetsTheAnswerWhereverTheTokenComes() async throws {
        let (access, stream, token) = try await Self.signedChannel()
        let whep = Recorder()
        let channel = try await Self.connection(access: access, whep: whep)
        let expires: Int64 = 4_102_444_800
        let signature = token.sign(prefix: PlayToken.prefix(of: stream), expires: expires)
        let bearer = try await Self.exchange(Self.post("/\(stream)/whep?rendition=480p",
                                                       headers: ["Authorization: Bearer \(expires)-\(signature)"]), on: channel)
        #expect(bearer.status == 201)
        #expect(bearer.headers["location"] == "/\(stream)/whep/\(Self.session)")
        #expect(bearer.headers["content-type"] == "application/sdp")
        #expect(bearer.headers["etag"] == "\"\(Self.session)\"")
        #expect(bearer.body == Self.answer)
        Self.expectCORS(bearer)
        let query = try await Self.exchange(Self.post("/\(stream)/whep?expires=\(expires)&token=\(signature)"), on: channel)
        #expect(query.status == 201)
        #expect(whep.calls.withLockedValue { $0 } == [.init(stream: stream, rendition: "480p", clientIP: "127.0.0.1"),
                                                       .init(stream: stream, rendition: "", clientIP: "127.0.0.1")])
    }

    @Test func refusalsBecomeTheirStatuses() async throws {
        let cases: [(WebRTCRefusal.Kind, Int, String)] = [
            (.badRequest, 400, "bad_offer"), (.notFound, 404, "stream_not_found"), (.conflict, 409, "conflict"),
            (.unsupported, 422, "unsupported_media"), (.unavailable, 503, "unavailable"), (.unauthorized, 401, "unauthorized"),
        ]
        for (kind, status, code) in cases {
            let channel = try await Self.connection(whep: Recorder(.failure(WebRTCRefusal(kind, "because \(kind)"))))
            let reply = try await Self.exchange(Self.post("/cam1/whep"), on: channel)
            #expect(reply.status == status)
            #expect(reply.body.contains(#""code":"\#(code)""#) && reply.body.contains("because \(kind)"))
            #expect(reply.headers["location"] == nil)
            Self.expectCORS(reply)
        }
        let unauthorized = try await Self.connection(whep: nil, whip: Recorder(.failure(WebRTCRefusal(.unauthorized, "no"))))
        let missing = try await Self.exchange(Self.post("/cam1/whip"), on: unauthorized)
        #expect(missing.status == 401 && missing.headers["www-authenticate"] == "Bearer")
        let wrong = try await Self.exchange(Self.post("/cam1/whip?sign=1-00"), on: unauthorized)
        #expect(wrong.status == 403)
    }

    @Test func aPublishersSignComesFromTheBearerTokenOrTheQuery() async throws {
        let whip = Recorder()
        let channel = try await Self.connection(whep: nil, whip: whip)
        let bearer = try await Self.exchange(Self.post("/cam1/whip", headers: ["Authorization: Bearer 1900000000-abcdef"]), on: channel)
        #expect(bearer.status == 201 && bearer.headers["location"] == "/cam1/whip/\(Self.session)")
        _ = try await Self.exchange(Self.post("/cam1/whip?sign=1900000001-012345&app=x"), on: channel)
        _ = try await Self.exchange(Self.post("/cam1/whip"), on: channel)
        let calls = whip.calls.withLockedValue { $0 }
        #expect(calls.map(\.sign) == ["1900000000-abcdef", "1900000001-012345", nil])
        #expect(calls.map(\.stream) == ["cam1", "cam1", "cam1"])
        #expect(calls[1].query == ["sign": "1900000001-012345", "app": "x"])
        #expect(calls[0].clientIP == "127.0.0.1" && calls[0].peer == "127.0.0.1:1")
    }

    @Test func sessionsEndWithDeleteAndRefusePatch() async throws {
        let whep = Recorder()
        let channel = try await Self.connection(whep: whep)
        let ended = try await Self.exchange("DELETE /cam1/whep/\(Self.session) HTTP/1.1\r\nHost: h\r\n\r\n", on: channel)
        #expect(ended.status == 200)
        Self.expectCORS(ended)
        let other = String(repeating: "f", count: 32)
        let unknown = try await Self.exchange("DELETE /cam1/whep/\(other) HTTP/1.1\r\nHost: h\r\n\r\n", on: channel)
        #expect(unknown.status == 404 && unknown.body.contains("session_not_found"))
        #expect(whep.ended.withLockedValue { $0 } == [Self.session, other])
        let patch = try await Self.exchange(
            "PATCH /cam1/whep/\(Self.session) HTTP/1.1\r\nHost: h\r\nContent-Type: application/trickle-ice-sdpfrag\r\nContent-Length: 0\r\n\r\n",
            on: channel)
        #expect(patch.status == 405 && patch.headers["allow"] == "DELETE, OPTIONS")
        Self.expectCORS(patch)
    }

    @Test func preflightsAnswerForEveryResource() async throws {
        let channel = try await Self.connection(whep: Recorder(), whip: Recorder())
        for path in ["/cam1/whep", "/cam1/whip", "/cam1/whep/\(Self.session)", "/cam1/whip/\(Self.session)"] {
            let reply = try await Self.exchange("OPTIONS \(path) HTTP/1.1\r\nHost: h\r\nOrigin: https://other.example\r\n\r\n", on: channel)
            #expect(reply.status == 204)
            Self.expectCORS(reply)
            #expect(reply.headers["access-control-max-age"] == "86400")
            #expect(reply.headers["accept-post"] == (path.hasSuffix("/whep") || path.hasSuffix("/whip") ? "application/sdp" : nil))
        }
    }

    @Test func offersAreCheckedBeforeAnythingIsAsked() async throws {
        let whep = Recorder()
        let channel = try await Self.connection(whep: whep)
        let typed = try await Self.exchange(Self.post("/cam1/whep", type: "text/plain"), on: channel)
        #expect(typed.status == 415)
        let malformed = try await Self.exchange(Self.post("/cam1/whep", body: "v=0\r\nnonsense\r\n"), on: channel)
        #expect(malformed.status == 400 && malformed.body.contains("bad_sdp"))
        Self.expectCORS(malformed)
        let huge = Self.offer + String(repeating: "a=x-padding:0123456789\r\n", count: 3000)
        let tooLarge = try await Self.exchange(Self.post("/cam1/whep", body: huge), on: channel)
        #expect(tooLarge.status == 413 && tooLarge.headers["connection"] == "close")
        #expect(whep.count == 0)
    }

    @Test func withoutWebRTCTheEndpointsSayItIsOff() async throws {
        let channel = try await Self.connection(whep: nil, whip: nil)
        let play = try await Self.exchange(Self.post("/cam1/whep"), on: channel)
        #expect(play.status == 503 && play.body.contains("webrtc_off"))
        let publish = try await Self.exchange(Self.post("/cam1/whip"), on: channel)
        #expect(publish.status == 503)
    }

    /// libcurl (OBS) asks before sending a body larger than 1 KiB; it is told to go on at once.
    @Test func anExpectingClientIsToldToContinue() async throws {
        let channel = try await Self.connection(whep: Recorder())
        let replies = try await HTTPEdgeTests.exchange(Self.post("/cam1/whep", headers: ["Expect: 100-continue"]), on: channel,
                                                       count: 2)
        #expect(replies.map(\.status) == [100, 201])
    }
}
