import Events
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Packager
import Testing
@testable import API

/// `PackagedPlayback` without sockets: the HTTP answer of each packager response (caching,
/// entity tags, byte ranges, errors), signed playlists, and the requests it refuses before the
/// packager is asked.
@Suite struct PackagedPlaybackTests {
    static let playlist = PackagedResponse.content(ByteBuffer(string: "#EXTM3U\nseg-1.ts\n"), contentType: "application/vnd.apple.mpegurl",
                                                   entityTag: "\"7\"", isPlaylist: true)
    static let media = PackagedResponse.content(ByteBuffer(string: "0123456789"), contentType: "video/mp2t",
                                                entityTag: "\"m1\"", isPlaylist: false)

    static func head(_ uri: String = "/cam1/live.m3u8", _ headers: HTTPHeaders = [:]) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: .GET, uri: uri, headers: headers)
    }

    static func playback() -> PackagedPlayback {
        PackagedPlayback(packager: PackagerHub(bus: EmbeddedEventBus(), channels: nil, logger: Logger(label: "test")))
    }

    @Test func playlistsAreShortLivedInCachesAndBlockingOnesLonger() throws {
        let plain = PackagedPlayback.answer(Self.playlist, request: PlaylistRequest(), head: Self.head())
        #expect(plain.status == .ok)
        #expect(plain.headers.first(name: "Cache-Control") == "max-age=1")
        #expect(plain.headers.first(name: "ETag") == "\"7\"")
        #expect(plain.headers.first(name: "Accept-Ranges") == nil)
        #expect(plain.body.map { String(buffer: $0) } == "#EXTM3U\nseg-1.ts\n")
        let blocking = PackagedPlayback.answer(Self.playlist, request: try PlaylistRequest(query: "_HLS_msn=4"), head: Self.head())
        #expect(blocking.headers.first(name: "Cache-Control") == "max-age=\(PackagedPlayback.blockingMaxAge)")
    }

    @Test func mediaIsImmutableAndServesOneByteRange() {
        let whole = PackagedPlayback.answer(Self.media, request: PlaylistRequest(), head: Self.head("/cam1/ts/a-1.ts"))
        #expect(whole.headers.first(name: "Cache-Control") == "public, max-age=31536000, immutable")
        #expect(whole.headers.first(name: "Accept-Ranges") == "bytes")
        let ranged = PackagedPlayback.answer(Self.media, request: PlaylistRequest(), head: Self.head("/cam1/ts/a-1.ts", ["Range": "bytes=2-4"]))
        #expect(ranged.status == .partialContent)
        #expect(ranged.headers.first(name: "Content-Range") == "bytes 2-4/10")
        #expect(ranged.body.map { String(buffer: $0) } == "234")
        let outside = PackagedPlayback.answer(Self.media, request: PlaylistRequest(), head: Self.head("/cam1/ts/a-1.ts", ["Range": "bytes=10-"]))
        #expect(outside.status == .rangeNotSatisfiable)
        #expect(outside.headers.first(name: "Content-Range") == "bytes */10")
        #expect(outside.body == nil)
        // A playlist is never cut into ranges: its length changes with every part.
        let playlist = PackagedPlayback.answer(Self.playlist, request: PlaylistRequest(), head: Self.head("/cam1/live.m3u8", ["Range": "bytes=0-1"]))
        #expect(playlist.status == .ok)
    }

    @Test func aKnownEntityTagIsA304WithoutABody() {
        for tag in ["\"7\"", "*"] {
            let answer = PackagedPlayback.answer(Self.playlist, request: PlaylistRequest(), head: Self.head("/cam1/live.m3u8", ["If-None-Match": tag]))
            #expect(answer.status == .notModified)
            #expect(answer.body == nil)
            #expect(answer.headers.first(name: "ETag") == "\"7\"")
        }
        let other = PackagedPlayback.answer(Self.playlist, request: PlaylistRequest(), head: Self.head("/cam1/live.m3u8", ["If-None-Match": "\"6\""]))
        #expect(other.status == .ok)
    }

    @Test func packagerRefusalsBecomeTheOneErrorShape() {
        let cases: [(PackagedResponse, HTTPResponseStatus, String)] = [
            (.notFound, .notFound, "not_found"), (.tooFarAhead("msn 9 is ahead"), .badRequest, "too_far_ahead"),
            (.timedOut, .serviceUnavailable, "not_yet_available"),
        ]
        for (response, status, code) in cases {
            let answer = PackagedPlayback.answer(response, request: PlaylistRequest(), head: Self.head())
            #expect(answer.status == status)
            #expect(answer.body.map { String(buffer: $0) }?.contains(#""code":"\#(code)""#) == true)
        }
    }

    @Test func aMalformedDirectiveIsRefusedWithoutEchoingIt() async throws {
        let loop = EmbeddedEventLoop()
        let future = Self.playback().answer(.classicPlaylist, of: StreamID("cam1")!, head: Self.head("/cam1/live.m3u8?_HLS_msn=<script>"),
                                            carrying: nil, eventLoop: loop)
        let answer = try await future.get()
        #expect(answer.status == .badRequest)
        let body = answer.body.map { String(buffer: $0) } ?? ""
        #expect(body.contains("bad_directive") && !body.contains("script"))
        // The ABR masters refuse a malformed start-over as the media playlists do.
        let master = try await Self.playback().answer(ABRResource.classic, of: StreamID("cam1")!,
                                                      head: Self.head("/cam1/index.m3u8?start=yesterday"), carrying: nil,
                                                      eventLoop: loop).get()
        #expect(master.status == .badRequest)
    }

    @Test func aStreamThatIsNotPackagedIsNotLive() async throws {
        let loop = EmbeddedEventLoop()
        let playback = Self.playback()
        let packaged = try await playback.answer(.classicPlaylist, of: StreamID("cam1")!, head: Self.head(), carrying: nil,
                                                 eventLoop: loop).get()
        #expect(packaged.status == .notFound)
        #expect(packaged.body.map { String(buffer: $0) } == String(buffer: APIError.streamNotFound("cam1").body))
        let presentation = try await playback.answer(ABRResource.classic, of: StreamID("cam1")!, head: Self.head("/cam1/index.m3u8"),
                                                     carrying: nil, eventLoop: loop).get()
        #expect(presentation.status == .notFound)
        #expect(presentation.body.map { String(buffer: $0) }?.contains("no_renditions") == true)
    }

    @Test func signedPlaylistsCarryTheTokenAndGetTheirOwnTag() throws {
        let cache = SignedPlaylistCache()
        let token = "expires=9&token=abcdefgh12345678"
        guard case .content(let body, _, let tag, true) = cache.carrying(token, into: Self.playlist) else {
            Issue.record("the playlist was not rewritten")
            return
        }
        #expect(String(buffer: body).contains("seg-1.ts?\(token)"))
        #expect(tag.hasPrefix("\"7-") && tag.hasSuffix("\"") && tag.count > 6)
        // Queries that end alike (two start-over instants with the same seconds) get tags apart.
        for (one, other) in [("start=2026-12-07T10:00:01.000Z", "start=2026-12-07T10:10:01.000Z"),
                             ("expires=9&token=aa12345678", "expires=9&token=bb12345678")] {
            guard case .content(_, _, let first, _) = cache.carrying(one, into: Self.playlist),
                  case .content(_, _, let second, _) = cache.carrying(other, into: Self.playlist) else {
                Issue.record("not rewritten")
                return
            }
            #expect(first != second, "\(one) and \(other) share \(first)")
        }
        guard case .content(let again, _, _, _) = cache.carrying(token, into: Self.playlist) else { return }
        #expect(again == body, "every client of one signed URL gets the same rewrite")
        guard case .content(let unsigned, _, let unsignedTag, _) = cache.carrying(nil, into: Self.playlist) else { return }
        #expect(String(buffer: unsigned) == "#EXTM3U\nseg-1.ts\n" && unsignedTag == "\"7\"")
        guard case .content(let media, _, let mediaTag, _) = cache.carrying(token, into: Self.media) else { return }
        #expect(String(buffer: media) == "0123456789" && mediaTag == "\"m1\"", "media is never rewritten")
    }

    @Test func eachPresentationWaitsForItsRenditionsOwnResource() {
        #expect(ABRResource.classic.readiness == .classicPlaylist)
        #expect(ABRResource.lowLatency.readiness == .llhlsMultivariant)
        #expect(ABRResource.dash.readiness == .dashManifest)
    }
}
