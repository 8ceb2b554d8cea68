import Events
import Fanout
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import API

/// `HTTPHandler` behind the server's own HTTP pipeline on a testing channel: request order,
/// the headers every answer carries, errors and HEAD, without a socket.
@Suite(.timeLimit(.minutes(1)))
struct HTTPEdgeTests {
    /// One parsed answer from the bytes the server wrote.
    struct Reply {
        var status: Int
        var headers: [String: String]
        var body: String
    }

    /// A channel with the server's pipeline (`HTTPService.configure`) and an `HTTPHandler`
    /// without packager or playback rules.
    static func connection(api: APIRouter? = nil, readiness: ReadinessCheck? = nil,
                           recorded: RecordedMedia? = nil) async throws -> NIOAsyncTestingChannel {
        let hub = FanoutHub(bus: EmbeddedEventBus(), logger: Logger(label: "test"))
        let channel = NIOAsyncTestingChannel()
        try await channel.eventLoop.submit {
            let handler = HTTPHandler(hub: hub, api: api, packaged: nil, access: nil, metrics: ServerMetrics(hub: hub, sessions: nil),
                                      readiness: readiness, recorded: recorded, logger: Logger(label: "test"))
            try HTTPService.configure(channel.pipeline.syncOperations, idleTimeout: .seconds(30), handler: handler)
        }.get()
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
        return channel
    }

    /// Sends `requests` in one write (pipelined) and reads `count` answers. HEAD answers carry
    /// a length but no body: `heads` says which answers (by index) are to HEAD requests.
    static func exchange(_ requests: String, on channel: NIOAsyncTestingChannel, count: Int,
                         heads: Set<Int> = []) async throws -> [Reply] {
        try await channel.writeInbound(ByteBuffer(string: requests))
        var bytes = ""
        var replies: [Reply] = []
        while replies.count < count {
            let part = try await channel.waitForOutboundWrite(as: IOData.self)
            guard case .byteBuffer(let buffer) = part else { continue }
            bytes += String(buffer: buffer)
            while replies.count < count, let reply = take(&bytes, isHead: heads.contains(replies.count)) {
                replies.append(reply)
            }
        }
        return replies
    }

    /// The first whole answer in `bytes`, removed from it; nil until it is all there.
    static func take(_ bytes: inout String, isHead: Bool) -> Reply? {
        guard let end = bytes.range(of: "\r\n\r\n") else { return nil }
        let lines = bytes[..<end.lowerBound].components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ")[1]) ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = isHead ? 0 : Int(headers["content-length"] ?? "0") ?? 0
        let rest = bytes[end.upperBound...]
        guard rest.utf8.count >= length else { return nil }
        let body = String(rest.utf8.prefix(length)) ?? ""
        bytes = String(rest.utf8.dropFirst(length)) ?? ""
        return Reply(status: status, headers: headers, body: body)
    }

    static func expectCORS(_ reply: Reply) {
        #expect(reply.headers["access-control-allow-origin"] == "*")
        #expect(reply.headers["access-control-allow-methods"] == "GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE")
        #expect(reply.headers["access-control-allow-headers"] == "Authorization, Content-Type, If-Match, If-None-Match, Range")
        #expect(reply.headers["access-control-expose-headers"] == "ETag, Location, Content-Range, Content-Length")
    }

    @Test func pipelinedRequestsAreAnsweredInTheOrderAsked() async throws {
        // The first answer comes late (off the event loop), the second at once: without
        // pipelining assistance the second would overtake it.
        let channel = try await Self.connection(readiness: {
            try? await Task.sleep(for: .milliseconds(200))
            return "warming up"
        })
        let replies = try await Self.exchange("GET /readyz HTTP/1.1\r\nHost: h\r\n\r\nGET /healthz HTTP/1.1\r\nHost: h\r\n\r\n"
                                              + "GET /nowhere HTTP/1.1\r\nHost: h\r\n\r\n", on: channel, count: 3)
        #expect(replies.map(\.status) == [503, 200, 404])
        #expect(replies[0].body.contains("not_ready"))
        #expect(replies[1].body == #"{"status":"ok"}"#)
        #expect(replies.allSatisfy { $0.headers["connection"] == "keep-alive" })
    }

    @Test func aPreflightIsAnsweredWithCORSAndNoBody() async throws {
        let channel = try await Self.connection()
        let request = "OPTIONS /api/v1/channels HTTP/1.1\r\nHost: h\r\nOrigin: https://player.example\r\n"
            + "Access-Control-Request-Method: POST\r\n\r\n"
        let reply = try #require(try await Self.exchange(request, on: channel, count: 1).first)
        #expect(reply.status == 204)
        // NIO's encoder drops the length of a 204, which has none (RFC 9110 §8.6).
        #expect(reply.headers["content-length"] == nil)
        #expect(reply.body.isEmpty)
        Self.expectCORS(reply)
    }

    @Test func anAPIAnswerCarriesCORSAndNoCache() async throws {
        let fixture = try await RouterFixture()
        let channel = try await Self.connection(api: fixture.router)
        let request = "GET /api/v1/channels HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer admin-key\r\n\r\n"
        let reply = try #require(try await Self.exchange(request, on: channel, count: 1).first)
        #expect(reply.status == 200)
        #expect(reply.headers["content-type"]?.hasPrefix("application/json") == true)
        #expect(reply.headers["cache-control"] == "no-cache")
        #expect(reply.headers["content-length"] == "\(reply.body.utf8.count)")
        Self.expectCORS(reply)
    }

    @Test func playlistAndSegmentAnswersCarryCORSAndTheirOwnCaching() async throws {
        let recorded = RecordedMedia(
            latestSnapshot: { _ in nil },
            vodRecording: { session in session == 7 ? VODRecording(stream: StreamID("cam")!, folder: "vod/cam/7") : nil },
            read: { location in location == "vod/cam/7/index.m3u8" ? ByteBuffer(string: "#EXTM3U\n0.ts\n") : nil },
            source: { location in .redirect("https://store.example/\(location)") })
        let channel = try await Self.connection(recorded: recorded)
        let requests = "GET /vod/0000000000000007/index.m3u8 HTTP/1.1\r\nHost: h\r\n\r\n"
            + "GET /vod/0000000000000007/0.ts HTTP/1.1\r\nHost: h\r\n\r\n"
        let replies = try await Self.exchange(requests, on: channel, count: 2)
        #expect(replies[0].status == 200)
        #expect(replies[0].headers["content-type"] == "application/vnd.apple.mpegurl")
        #expect(replies[0].headers["cache-control"] == "max-age=2")
        #expect(replies[0].body == "#EXTM3U\n0.ts\n")
        #expect(replies[1].status == 302)
        #expect(replies[1].headers["location"] == "https://store.example/vod/cam/7/0.ts")
        #expect(replies[1].headers["cache-control"] == "no-store")
        replies.forEach(Self.expectCORS)
    }

    @Test func unknownPathsGet404AndWrongMethods405() async throws {
        let channel = try await Self.connection()
        let requests = "GET /no/such/thing/here HTTP/1.1\r\nHost: h\r\n\r\n"
            + "POST /healthz HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}"
            + "GET /cam/live.flv HTTP/1.1\r\nHost: h\r\n\r\n"
        let replies = try await Self.exchange(requests, on: channel, count: 3)
        #expect(replies.map(\.status) == [404, 405, 404])
        #expect(replies[1].body.contains("method_not_allowed"))
        #expect(replies.allSatisfy { $0.headers["content-type"] == "application/json" })
        replies.forEach(Self.expectCORS)
    }

    @Test func headSaysTheLengthAGetWouldHaveAndSendsNoBody() async throws {
        let channel = try await Self.connection()
        let replies = try await Self.exchange("HEAD /healthz HTTP/1.1\r\nHost: h\r\n\r\nGET /healthz HTTP/1.1\r\nHost: h\r\n\r\n",
                                              on: channel, count: 2, heads: [0])
        #expect(replies[0].status == 200)
        #expect(replies[0].headers["content-length"] == "15")
        #expect(replies[0].body.isEmpty)
        // The GET that follows parses as a whole answer: nothing of a body was sent for the HEAD.
        #expect(replies[1].body == #"{"status":"ok"}"#)
    }

    @Test func aMalformedRequestGetsA400AndTheConnectionCloses() async throws {
        let channel = try await Self.connection()
        let reply = try #require(try await Self.exchange("GET / HTTP/1.1\r\nHost h\r\n\r\n", on: channel, count: 1).first)
        #expect(reply.status == 400)
        #expect(reply.body.contains("bad_request"))
        #expect(reply.headers["connection"] == "close")
        try await channel.closeFuture.get()
    }

    @Test func theFLVHeadIsHTTP11WithoutALength() {
        let text = String(buffer: ResponseHeaders.bytes(of: ResponseHeaders.flvHead))
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\nContent-Type: video/x-flv\r\nCache-Control: no-cache\r\n"))
        #expect(text.contains("Access-Control-Allow-Origin: *\r\n"))
        #expect(text.hasSuffix("Connection: close\r\n\r\n"))
        let names = text.split(separator: "\r\n").dropFirst().compactMap { $0.split(separator: ":").first?.lowercased() }
        #expect(!names.contains("content-length") && !names.contains("transfer-encoding"))
    }
}
