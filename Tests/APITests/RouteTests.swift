import Events
import NIOCore
import NIOHTTP1
import Packager
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

    @Test func parsesSegmentedPlaybackAndPlayerPages() {
        let cam = StreamIDFixture.cam
        #expect(Route(method: .GET, uri: "/cam1/live.m3u8") == .packaged(cam, .classicPlaylist))
        #expect(Route(method: .GET, uri: "/cam1/llhls-video.m3u8?_HLS_msn=4&_HLS_part=1") == .packaged(cam, .llhlsMedia(.video)))
        #expect(Route(method: .GET, uri: "/cam1/manifest.mpd") == .packaged(cam, .dashManifest))
        #expect(Route(method: .GET, uri: "/cam1/cmaf/00000000000000ab/audio-3.2.m4s")
            == .packaged(cam, .cmafPart(session: "00000000000000ab", track: .audio, mediaSequence: 3, part: 2)))
        #expect(Route(method: .GET, uri: "/cam1/ts/00000000000000ab-9.ts") == .packaged(cam, .tsSegment(session: "00000000000000ab", mediaSequence: 9)))
        #expect(Route(method: .GET, uri: "/cam1/hls.html") == .playerPage(cam, .hls))
        #expect(Route(method: .GET, uri: "/cam1/player.js") == .playerPage(cam, .script))
        #expect(PlayerPage.allCases.allSatisfy { $0.html.readableBytes > 500 }, "pages ship as package resources")
    }

    @Test func parsesRenditionsAndTheABRMaster() {
        let cam = StreamIDFixture.cam
        #expect(Route(method: .GET, uri: "/cam1/index.m3u8") == .abr(cam, .classic))
        #expect(Route(method: .GET, uri: "/cam1/index-llhls.m3u8") == .abr(cam, .lowLatency))
        #expect(Route(method: .GET, uri: "/cam1/index.mpd?token=x") == .abr(cam, .dash))
        #expect(Route(method: .GET, uri: "/cam1/720p/index.m3u8") == .packaged(cam, rendition: "720p", .classicPlaylist))
        #expect(Route(method: .GET, uri: "/cam1/360p/live.flv") == .httpFLV(cam, rendition: "360p"))
        #expect(Route(method: .GET, uri: "/cam1/1080p/llhls.m3u8") == .packaged(cam, rendition: "1080p", .llhlsMultivariant))
        #expect(Route(method: .GET, uri: "/cam1/480p/ts/00000000000000ab-9.ts")
            == .packaged(cam, rendition: "480p", .tsSegment(session: "00000000000000ab", mediaSequence: 9)))
        #expect(Route(method: .GET, uri: "/cam1/480p/cmaf/00000000000000ab/video-3.2.m4s")
            == .packaged(cam, rendition: "480p", .cmafPart(session: "00000000000000ab", track: .video, mediaSequence: 3, part: 2)))
        guard case .failure(let unknown) = Route(method: .GET, uri: "/cam1/240p/index.m3u8") else {
            Issue.record("a rendition that does not exist was routed")
            return
        }
        #expect(unknown.status == .notFound)
        guard case .failure(let other) = Route(method: .GET, uri: "/cam1/720p/other") else {
            Issue.record("an unknown rendition resource was routed")
            return
        }
        #expect(other.status == .notFound)
    }

    @Test func byteRangesFollowRFC9110() {
        #expect(ByteRange.parse("bytes=0-", size: 10) == 0...9)
        #expect(ByteRange.parse("bytes=2-4", size: 10) == 2...4)
        #expect(ByteRange.parse("bytes=8-100", size: 10) == 8...9)
        #expect(ByteRange.parse("bytes=-3", size: 10) == 7...9)
        #expect(ByteRange.parse("bytes=10-", size: 10) == nil)
        #expect(ByteRange.parse("bytes=5-2", size: 10) == nil)
        #expect(ByteRange.parse("bytes=0-1,3-4", size: 10) == nil)
        #expect(ByteRange.parse("items=0-1", size: 10) == nil)
    }

    @Test func channelsServeOnlyTheOutputsTheyEnable() {
        let hlsOnly = PackagingConfiguration(hls: true, llhls: false, dash: false)
        #expect(hlsOnly.serves(.classicPlaylist) && hlsOnly.serves(.tsSegment(session: "a", mediaSequence: 1)))
        #expect(!hlsOnly.serves(.llhlsMultivariant) && !hlsOnly.serves(.dashManifest))
        #expect(!hlsOnly.serves(.cmafPart(session: "a", track: .video, mediaSequence: 1, part: 0)))
        let dashOnly = PackagingConfiguration(hls: false, llhls: false, dash: true)
        #expect(dashOnly.serves(.dashManifest) && dashOnly.serves(.initSegment(session: "a", track: .audio)))
        #expect(!dashOnly.serves(.llhlsMedia(.video)) && !dashOnly.serves(.classicPlaylist))
    }

    @Test func errorsHaveOneJSONShape() {
        let body = APIError.streamNotFound("cam1").body
        #expect(String(buffer: body) == #"{"error":{"code":"stream_not_found","message":"Stream 'cam1' is not live."}}"#)
    }
}

enum StreamIDFixture {
    static let cam = Events.StreamID("cam1")!
}
