import NIOHTTP1
import Testing
@testable import API

@Suite struct RouteTests {
    @Test func parsesPlaybackHealthAndMetrics() {
        #expect(Route(method: .GET, uri: "/cam1/live.flv") == .httpFLV(.init("cam1")!))
        #expect(Route(method: .GET, uri: "/cam1/live.flv?token=x") == .httpFLV(.init("cam1")!))
        #expect(Route(method: .HEAD, uri: "/cam1/live.flv") == .httpFLV(.init("cam1")!))
        #expect(Route(method: .GET, uri: "/healthz") == .health)
        #expect(Route(method: .GET, uri: "/readyz") == .ready)
        #expect(Route(method: .GET, uri: "/metrics") == .metrics)
        #expect(Route(method: .OPTIONS, uri: "/cam1/live.flv") == .preflight)
    }

    @Test func refusesWhatItDoesNotServe() {
        guard case .failure(let traversal) = Route(method: .GET, uri: "/..%2F..%2Fetc/live.flv") else {
            Issue.record("traversal accepted")
            return
        }
        #expect(traversal.code == "stream_not_found")
        guard case .failure(let post) = Route(method: .POST, uri: "/cam1/live.flv") else {
            Issue.record("POST accepted")
            return
        }
        #expect(post.status == .methodNotAllowed)
        guard case .failure(let unknown) = Route(method: .GET, uri: "/cam1/other") else {
            Issue.record("unknown path accepted")
            return
        }
        #expect(unknown.status == .notFound && unknown.code == "not_found")
    }

    @Test func errorsHaveOneJSONShape() {
        let body = APIError.streamNotFound("cam1").body
        #expect(String(buffer: body) == #"{"error":{"code":"stream_not_found","message":"Stream 'cam1' is not live."}}"#)
    }
}
