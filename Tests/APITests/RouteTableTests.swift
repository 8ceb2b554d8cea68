import Events
import Foundation
import NIOCore
import NIOHTTP1
import Packager
import Testing
@testable import API

/// The route tables: every route parses to what it names, and hostile or unknown paths get the
/// errors they always got, in the same order (404 and 405 before 401, 401 before 403, 403
/// before the `{id}` is looked at).
@Suite struct RouteTableTests {
    static let channelID = "00000000-0000-0000-0000-000000000001"

    @Test func everyAPIRouteParsesToItsEndpointAndID() {
        for route in APIRoutes.all {
            let uri = route.path.replacingOccurrences(of: "{id}", with: Self.channelID) + "?limit=5"
            let id = route.path.contains("{id}") ? Self.channelID : ""
            #expect(Route(method: route.method, uri: uri) == .api(.success(APICall(route: route, id: id))), "\(route.method) \(uri)")
        }
    }

    @Test func everyEndpointIsNamedOnce() {
        #expect(Set(APIRoutes.all.map(\.endpoint)).count == APIRoutes.all.count)
        let names = APIRoutes.all.map { "\($0.method.rawValue) \($0.path)" }
        #expect(Set(names).count == names.count)
    }

    @Test func anIDIsPercentDecodedAndAnyOtherSegmentCountIsNoRoute() {
        let revoke = APIRoutes.all.first { $0.endpoint == .revokeKey }!
        #expect(Route(method: .DELETE, uri: "/api/v1/keys/a%20b") == .api(.success(APICall(route: revoke, id: "a b"))))
        let noRoute = APIError(.notFound, code: "not_found", message: "No such API route.")
        for uri in ["/api", "/api/v1", "/api/v2/channels", "/api/v1/channels/x/y/z", "/api/v1/keys/k1/x", "/videostream/a/b"] {
            #expect(Route(method: .GET, uri: uri) == .api(.failure(noRoute)), "\(uri)")
        }
        #expect(Route(method: .PATCH, uri: "/api/v1/streams") == .api(.failure(.methodNotAllowed(.PATCH))))
        #expect(Route(method: .HEAD, uri: "/api/v1/channels") == .api(.failure(.methodNotAllowed(.HEAD))), "HEAD is not GET in the API")
    }

    /// One request per edge route, in table order.
    static let edge: [(String, Route)] = [
        ("/console", .redirect("/console/")),
        ("/console/", .console("")),
        ("/console/app.js", .console("app.js")),
        ("/console/a/b", .failure(.noRoute("/console/a/b"))),
        ("/cam1/720p/live.flv", .httpFLV(StreamIDFixture.cam, rendition: "720p")),
        ("/cam1/720p/index.m3u8", .packaged(StreamIDFixture.cam, rendition: "720p", .classicPlaylist)),
        ("/cam1/720p//other/", .failure(.noRoute("/cam1/720p/other"))),
        ("/vod/0000000000000007/index.m3u8", .vod(session: 7, file: "index.m3u8")),
        ("/vod/00000000000000ff/12.ts", .vod(session: 255, file: "12.ts")),
        ("/cam1/index.mpd", .abr(StreamIDFixture.cam, .dash)),
        ("/healthz", .health),
        ("/readyz/", .ready),
        ("/metrics", .metrics),
        ("/cam1/live.flv", .httpFLV(StreamIDFixture.cam)),
        ("/cam1/snapshot.jpg", .snapshot(StreamIDFixture.cam)),
        ("/cam1/iframes.m3u8", .iFrames(StreamIDFixture.cam)),
        ("/cam1/thumbnails.m3u8", .thumbnails(StreamIDFixture.cam, .playlist)),
        ("/cam1/thumbnails/1-2x2-64-1s.jpg", .thumbnails(StreamIDFixture.cam, .sprite("1-2x2-64-1s.jpg"))),
        ("/cam1/flv.html", .playerPage(StreamIDFixture.cam, .flv)),
        ("/cam1/ts/00000000000000ab-9.ts", .packaged(StreamIDFixture.cam, .tsSegment(session: "00000000000000ab", mediaSequence: 9))),
        ("/", .failure(.noRoute("/"))),
    ]

    @Test func everyEdgeRouteParsesToItsResource() {
        for (uri, expected) in Self.edge {
            #expect(Route(method: .GET, uri: uri) == expected, "\(uri)")
        }
        // Each entry of the table is reached by one of the requests above.
        let reached = Set(Self.edge.compactMap { uri, _ in
            EdgeRoutes.all.firstIndex { entry in
                entry.template.match(uri.split(separator: "/").map(String.init)).flatMap { entry.parse($0, uri) } != nil
            }
        })
        #expect(reached == Set(EdgeRoutes.all.indices))
    }

    /// Numbers out of range, names that are no stream id, and segments no route knows.
    static let refused: [(HTTPMethod, String, HTTPResponseStatus, String)] = [
        (.GET, "/cam1/ts/00000000000000ab-99999999999999999999.ts", .notFound, "not_found"),
        (.GET, "/cam1/cmaf/00000000000000ab/video-18446744073709551616.0.m4s", .notFound, "not_found"),
        (.GET, "/vod/0000000000000007/99999999999999999999.ts", .notFound, "not_found"),
        (.GET, "/vod/zzzzzzzzzzzzzzzz/index.m3u8", .notFound, "not_found"),
        (.GET, "/..%2F..%2Fetc/live.flv", .notFound, "stream_not_found"),
        (.GET, "/bad%2Fid/720p/live.flv", .notFound, "stream_not_found"),
        (.GET, "/bad%20id/index.mpd", .notFound, "stream_not_found"),
        (.GET, "/" + String(repeating: "a", count: 300) + "/live.flv", .notFound, "stream_not_found"),
        (.GET, "/cam1/240p/index.m3u8", .notFound, "not_found"),
        (.GET, "/cam1/a/b/c/d", .notFound, "not_found"),
        (.GET, "/healthz/x", .notFound, "not_found"),
        (.POST, "/cam1/live.flv", .methodNotAllowed, "method_not_allowed"),
        (.DELETE, "/healthz", .methodNotAllowed, "method_not_allowed"),
    ]

    @Test func hostilePathsGetTheirErrors() {
        for (method, uri, status, code) in Self.refused {
            guard case .failure(let error) = Route(method: method, uri: uri) else {
                Issue.record("\(method) \(uri) was routed")
                continue
            }
            #expect(error.status == status && error.code == code, "\(method) \(uri)")
        }
    }

    @Test func apiErrorsComeInTheirOrder() async throws {
        let fixture = try await RouterFixture()
        func status(_ method: HTTPMethod, _ uri: String, key: String?) async -> (UInt, String) {
            let headers: HTTPHeaders = key.map { ["Authorization": "Bearer \($0)"] } ?? [:]
            let response = await fixture.router.handle(APIRequest(method: method, uri: uri, headers: headers))
            return (response.status.code, response.body.map { String(buffer: $0) } ?? "")
        }
        let read = fixture.keys[.readOnly]!
        let cases: [(HTTPMethod, String, String?, UInt, String)] = [
            (.GET, "/api/v1/nowhere", nil, 404, #""code":"not_found""#),
            (.PATCH, "/api/v1/streams", nil, 405, #""code":"method_not_allowed""#),
            (.DELETE, "/api/v1/keys/k1", nil, 401, "Send Authorization: Bearer <API key>."),
            (.DELETE, "/api/v1/keys/k1", "wrong", 401, "Unknown API key."),
            (.DELETE, "/api/v1/keys/k1", read, 403, #""code":"forbidden""#),
            (.GET, "/api/v1/channels/99999999999999999999", nil, 401, #""code":"unauthorized""#),
            (.GET, "/api/v1/channels/99999999999999999999", read, 404, "No channel '99999999999999999999'."),
            (.GET, "/api/v1/streams/..%2F", read, 404, #""code":"stream_not_found""#),
            (.GET, "/videostream/not-a-uuid", read, 404, "No channel 'not-a-uuid'."),
            (.DELETE, "/api/v1/keys/k1", "admin-key", 404, #""code":"key_not_found""#),
            (.GET, "/api/v1/assets", read, 404, "This node keeps no assets."),
        ]
        for (method, uri, key, expected, text) in cases {
            let (code, body) = await status(method, uri, key: key)
            #expect(code == expected && body.contains(text), "\(method) \(uri): \(code) \(body)")
        }
    }

    @Test func theHTTPEdgeKeepsAPIErrorsAndTheConsoleRedirect() async throws {
        let fixture = try await RouterFixture()
        let channel = try await HTTPEdgeTests.connection(api: fixture.router)
        let requests = "GET /api/v1/nowhere HTTP/1.1\r\nHost: h\r\n\r\n"
            + "POST /api/v1/channels HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}"
            + "GET /console HTTP/1.1\r\nHost: h\r\n\r\n"
            + "HEAD /api/v1/channels HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer admin-key\r\n\r\n"
        let replies = try await HTTPEdgeTests.exchange(requests, on: channel, count: 4, heads: [3])
        #expect(replies.map(\.status) == [404, 401, 301, 405])
        #expect(replies[0].body.contains("No such API route."))
        #expect(replies[2].headers["location"] == "/console/")
        replies.forEach(HTTPEdgeTests.expectCORS)
        let disabled = try await HTTPEdgeTests.connection()
        let reply = try #require(try await HTTPEdgeTests.exchange("GET /api/v1/nowhere HTTP/1.1\r\nHost: h\r\n\r\n", on: disabled, count: 1).first)
        #expect(reply.status == 404 && reply.body.contains("The API is not enabled."))
    }
}
