import Events
import NIOCore
import NIOHTTP1
import Testing
@testable import API

/// WHEP and WHIP's routes: parsed once into a `WebRTCRequest` (methods, bounded session ids,
/// the rendition), and the offer a POST carries checked before anything else sees it.
@Suite struct WebRTCRouteTests {
    static let cam = StreamID("cam1")!
    static let session = "0123456789abcdef0123456789abcdef"

    static func request(_ kind: WebRTCRequest.Kind, _ action: WebRTCRequest.Action, rendition: String = "") -> Route {
        .webRTC(WebRTCRequest(stream: cam, kind: kind, action: action, rendition: rendition))
    }

    @Test func endpointsTakePostAndOptions() {
        #expect(Route(method: .POST, uri: "/cam1/whep") == Self.request(.whep, .create))
        #expect(Route(method: .POST, uri: "/cam1/whip?sign=1-ab") == Self.request(.whip, .create))
        #expect(Route(method: .OPTIONS, uri: "/cam1/whep") == Self.request(.whep, .preflight(allow: "POST, OPTIONS")))
        #expect(Route(method: .GET, uri: "/cam1/whip") == Self.request(.whip, .methodNotAllowed(.GET, allow: "POST, OPTIONS")))
        #expect(Route(method: .DELETE, uri: "/cam1/whep") == Self.request(.whep, .methodNotAllowed(.DELETE, allow: "POST, OPTIONS")))
    }

    @Test func sessionsTakeDeleteAndOptionsAndRefusePatch() throws {
        let id = try #require(WebRTCSessionID(parsing: Self.session))
        #expect(Route(method: .DELETE, uri: "/cam1/whep/\(Self.session)") == Self.request(.whep, .end(id)))
        #expect(Route(method: .DELETE, uri: "/cam1/whip/\(Self.session)") == Self.request(.whip, .end(id)))
        #expect(Route(method: .OPTIONS, uri: "/cam1/whip/\(Self.session)") == Self.request(.whip, .preflight(allow: "DELETE, OPTIONS")))
        // No trickle ICE (RFC 9725 §4.3): PATCH is a 405 naming what the session does take.
        #expect(Route(method: .PATCH, uri: "/cam1/whep/\(Self.session)")
            == Self.request(.whep, .methodNotAllowed(.PATCH, allow: "DELETE, OPTIONS")))
        #expect(Route(method: .POST, uri: "/cam1/whep/\(Self.session)")
            == Self.request(.whep, .methodNotAllowed(.POST, allow: "DELETE, OPTIONS")))
    }

    @Test func sessionIDsAreExactly32HexDigits() throws {
        let upper = try #require(WebRTCSessionID(parsing: Self.session.uppercased()))
        #expect(upper.rawValue == Self.session)
        for bad in ["", String(Self.session.dropLast()), Self.session + "0", "g" + Self.session.dropFirst(),
                    String(repeating: "0", count: 10_000), "0123456789abcdef0123456789abcde\u{e9}", "../../../../etc/passwd/0000000"] {
            #expect(WebRTCSessionID(parsing: bad) == nil, "\(bad.prefix(40)) taken")
            guard case .failure(let error) = Route(method: .DELETE, uri: "/cam1/whep/\(bad)") else {
                // Paths with more segments are no WebRTC route at all.
                continue
            }
            #expect(error.status == .notFound || error.status == .methodNotAllowed)
        }
        guard case .failure(let error) = Route(method: .DELETE, uri: "/cam1/whep/xyz") else {
            Issue.record("a malformed session id was routed")
            return
        }
        #expect(error.status == .notFound && error.code == "session_not_found")
    }

    @Test func aRenditionIsAskedForInTheQueryOfWHEPOnly() {
        #expect(Route(method: .POST, uri: "/cam1/whep?rendition=720p&token=x") == Self.request(.whep, .create, rendition: "720p"))
        for uri in ["/cam1/whep?rendition=4k", "/cam1/whep?rendition=../720p", "/cam1/whip?rendition=720p"] {
            guard case .failure(let error) = Route(method: .POST, uri: uri) else {
                Issue.record("\(uri) routed")
                continue
            }
            #expect(error.status == .badRequest && error.code == "bad_rendition")
        }
    }

    @Test func otherPathsAreLeftToTheirRoutes() {
        #expect(Route(method: .GET, uri: "/cam1/webrtc.html") == .playerPage(Self.cam, .webrtc))
        #expect(Route(method: .GET, uri: "/cam1/webrtc.js") == .playerPage(Self.cam, .webrtcScript))
        #expect(Route(method: .OPTIONS, uri: "/cam1/live.flv") == .preflight)
        guard case .api = Route(method: .POST, uri: "/api/whep") else {
            Issue.record("/api/whep left the API")
            return
        }
        guard case .failure(let other) = Route(method: .POST, uri: "/cam1/whepx") else {
            Issue.record("/cam1/whepx routed")
            return
        }
        #expect(other.status == .methodNotAllowed)
        guard case .failure(let badName) = Route(method: .POST, uri: "/..%2F..%2Fetc/whep") else {
            Issue.record("a path that is no stream id routed")
            return
        }
        #expect(badName.code == "stream_not_found")
    }

    @Test func onlyOffersHaveBodiesOfAtMost64KiB() throws {
        #expect(Self.request(.whep, .create).takesBody)
        #expect(Self.request(.whep, .create).bodyLimit == 64 << 10)
        let id = try #require(WebRTCSessionID(parsing: Self.session))
        #expect(!Self.request(.whep, .end(id)).takesBody)
        #expect(!Self.request(.whip, .preflight(allow: "POST, OPTIONS")).takesBody)
        #expect(Route(method: .POST, uri: "/cam1/whip").metricLabel == "whip")
        #expect(Route(method: .DELETE, uri: "/cam1/whep/\(Self.session)").metricLabel == "whep")
    }

    /// Seeded random request targets and bearer headers: every one routes or is refused, and a
    /// WebRTC route it yields names a valid stream and a 32-hex session.
    @Test func randomTargetsAndCredentialsAreRoutedOrRefused() {
        var state: UInt64 = 0x5EED_0021
        func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        let pieces = ["/", "cam1", "whep", "whip", "%2F", "..", "?", "&", "rendition=", "720p", "0123456789abcdef", "=", "%", "\u{e9}", " ", "-"]
        let methods: [HTTPMethod] = [.GET, .HEAD, .POST, .DELETE, .PATCH, .OPTIONS, .PUT]
        for _ in 0..<5000 {
            let uri = (0..<next(12)).map { _ in pieces[next(pieces.count)] }.joined()
            let route = Route(method: methods[next(methods.count)], uri: uri)
            if case .webRTC(let request) = route {
                #expect(StreamID(request.stream.rawValue) != nil)
                if case .end(let session) = request.action { #expect(session.rawValue.utf8.count == 32) }
            }
            _ = route.metricLabel
            let bearer = TokenCarrier.bearer(in: ["Authorization": "Bearer " + uri])
            #expect(bearer.map { $0.utf8.count <= 512 && !$0.contains(" ") } ?? true)
            _ = TokenCarrier.playQuery([:], bearer: bearer)
        }
    }

    @Test func theOfferMustBeSDPOfAtMost64KiBThatParses() {
        let offer = ByteBuffer(string: WebRTCEdgeTests.offer)
        func failure(_ type: String?, _ body: ByteBuffer?, tooLarge: Bool = false) -> APIError? {
            guard case .failure(let error) = WebRTCRequest.offer(contentType: type, body: body, tooLarge: tooLarge) else { return nil }
            return error
        }
        #expect(failure("application/sdp", offer, tooLarge: true)?.status == .payloadTooLarge)
        #expect(failure("text/plain", offer)?.status == .unsupportedMediaType)
        #expect(failure(nil, offer)?.status == .unsupportedMediaType)
        #expect(failure("application/sdp", nil)?.status == .badRequest)
        let malformed = failure("application/sdp", ByteBuffer(string: "v=0\r\nthis is no sdp\r\n"))
        #expect(malformed?.status == .badRequest && malformed?.code == "bad_sdp")
        #expect(malformed.map { !$0.message.isEmpty } == true)
        #expect(failure("Application/SDP; charset=utf-8", offer) == nil)
    }
}
