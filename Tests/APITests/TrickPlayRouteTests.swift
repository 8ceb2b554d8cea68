@testable import API
import Events
import Foundation
import Packager
import State
import Testing

@Suite struct TrickPlayRouteTests {
    let cam = StreamID("cam1")!

    @Test func iFrameAndThumbnailPathsParseOnce() {
        #expect(Route(method: .GET, uri: "/cam1/iframes.m3u8") == .iFrames(cam))
        #expect(Route(method: .GET, uri: "/cam1/720p/iframes.m3u8?token=x") == .iFrames(cam, rendition: "720p"))
        #expect(Route(method: .GET, uri: "/cam1/thumbnails.m3u8") == .thumbnails(cam, .playlist))
        #expect(Route(method: .GET, uri: "/cam1/thumbnails/360000000-5x5-160-5s.jpg") == .thumbnails(cam, .sprite("360000000-5x5-160-5s.jpg")))
        // A rendition's own llhls.m3u8 and manifest.mpd name the stream's thumbnail track relative to the rendition.
        #expect(Route(method: .GET, uri: "/cam1/360p/thumbnails.m3u8") == .thumbnails(cam, .playlist))
        #expect(Route(method: .GET, uri: "/cam1/360p/thumbnails/7-5x5-160-5s.jpg") == .thumbnails(cam, .sprite("7-5x5-160-5s.jpg")))
        for hostile in ["/cam1/thumbnails/-1-5x5-160-5s.jpg", "/cam1/thumbnails/1-11x5-160-5s.jpg", "/cam1/thumbnails/1-5x5-161-5s.jpg",
                        "/cam1/thumbnails/99999999999999999999-5x5-160-5s.jpg", "/cam1/thumbnails/1-5x5-160-5s.png",
                        "/cam1/thumbnails/1-5x5-160x90-5s.jpg",
                        "/cam1/360p/thumbnails/1-5x5-160x90-5s.jpg", "/cam1/360p/thumbnails/a/b"] {
            guard case .failure = Route(method: .GET, uri: hostile) else {
                Issue.record("\(hostile) was taken")
                continue
            }
        }
    }

    private func sprite(_ number: Int64, session: UInt64 = 7, layout: ThumbnailLayout = ThumbnailLayout()) -> Asset {
        let sprite = ThumbnailSprite(number: number, layout: layout, tileHeight: 90)
        let start = Date(timeIntervalSince1970: Double(sprite.start) / 1000)
        return Asset(kind: .thumbnailSprite, channelID: "cam1", streamID: cam, sessionID: session, start: start, duration: 125,
                     size: 1000, location: Asset.location(channel: "cam1", kind: .thumbnailSprite, day: start, file: sprite.fileName(stream: "cam1")),
                     contentType: "image/jpeg")
    }

    @Test func theImagePlaylistListsTheNewestRunOfOneSession() throws {
        // Newest first, as the index lists them: a gap before 14_400_010 and another session before that.
        let assets = [sprite(14_400_012), sprite(14_400_011), sprite(14_400_010), sprite(14_400_008), sprite(14_400_007, session: 6)]
        let playlist = try #require(ThumbnailTrack.playlist(of: assets))
        let golden = """
            #EXTM3U
            #EXT-X-VERSION:7
            #EXT-X-TARGETDURATION:125
            #EXT-X-MEDIA-SEQUENCE:14400010
            #EXT-X-IMAGES-ONLY
            #EXT-X-PROGRAM-DATE-TIME:2027-01-15T08:20:50.000Z
            #EXTINF:125.000,
            #EXT-X-TILES:RESOLUTION=160x90,LAYOUT=5x5,DURATION=5.000
            thumbnails/14400010-5x5-160-5s.jpg
            #EXT-X-PROGRAM-DATE-TIME:2027-01-15T08:22:55.000Z
            #EXTINF:125.000,
            #EXT-X-TILES:RESOLUTION=160x90,LAYOUT=5x5,DURATION=5.000
            thumbnails/14400011-5x5-160-5s.jpg
            #EXT-X-PROGRAM-DATE-TIME:2027-01-15T08:25:00.000Z
            #EXTINF:125.000,
            #EXT-X-TILES:RESOLUTION=160x90,LAYOUT=5x5,DURATION=5.000
            thumbnails/14400012-5x5-160-5s.jpg

            """
        #expect(playlist.render() == golden)
        #expect(ThumbnailTrack.asset(named: "14400011-5x5-160-5s.jpg", in: assets) == assets[1])
        #expect(ThumbnailTrack.asset(named: "14400011-4x5-160-5s.jpg", in: assets) == nil)
        #expect(ThumbnailTrack.playlist(of: []) == nil)
    }
}
