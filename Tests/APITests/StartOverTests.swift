import Events
import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Packager
import State
import Testing
@testable import API

/// Start-over URLs at the edge: the redirect of a relative start, and of a start before the DVR
/// window to the VOD recording that covers it.
@Suite struct StartOverTests {
    @Test func aRelativeStartIsSentToTheInstantKeepingTheTokens() {
        let response = StartOver.redirect("/cam1/720p/live.m3u8?expires=99&start=-60&token=ab", seconds: 60, liveEdge: 1_800_000_060_000)
        #expect(response.status == .found)
        #expect(response.headers.first(name: "Location") == "live.m3u8?start=2027-01-15T08:00:00.000Z&expires=99&token=ab")
        // Nothing before 1970, whatever the edge.
        #expect(StartOver.redirect("/a/live.m3u8?start=-600", seconds: 600, liveEdge: 5).headers.first(name: "Location")
            == "live.m3u8?start=1970-01-01T00:00:00.000Z")
    }

    @Test(arguments: [("offset=12.345", "12.345"), ("a=1&offset=7", "7"), ("offset=999999.5", "999999.5"), ("offset=-1", nil),
                      ("offset=1e3", nil), ("offset=1234567", nil), ("offset=1.2345", nil), ("offset=", nil), ("x=1", nil)]
          as [(String, String?)])
    func vodOffsetsAreReadBounded(_ query: String, _ expected: String?) {
        #expect(StartOver.vodOffset(in: "/vod/00000000000000ab/index.m3u8?\(query)") == expected)
    }

    @Test func aVODPlaylistStartsAtTheOffset() {
        let playlist = "#EXTM3U\n#EXT-X-VERSION:3\n#EXTINF:2.000,\n0.ts\n"
        #expect(StartOver.starting(playlist, at: "3.5") == "#EXTM3U\n#EXT-X-START:TIME-OFFSET=3.5,PRECISE=YES\n#EXT-X-VERSION:3\n#EXTINF:2.000,\n0.ts\n")
        #expect(StartOver.starting(playlist, at: nil) == playlist)
    }

    @Test func aStartBeforeTheWindowGoesToTheRecordingThatCoversIt() async throws {
        let index = SQLiteAssetIndex(database: try SQLiteDatabase(path: nil))
        let stream = StreamID("cam1")!
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        for (session, offset) in [(UInt64(0xA1), 0.0), (0xA2, 3600)] {
            try await index.add(Asset(kind: .vodPlaylist, channelID: "cam1", streamID: stream, sessionID: session,
                                      start: start.addingTimeInterval(offset), duration: 1800, size: 10,
                                      location: "cam1/vod-playlist/\(session)/index.m3u8", contentType: "application/vnd.apple.mpegurl"))
        }
        let loop = EmbeddedEventLoop()
        func answer(_ instant: Int64) async throws -> APIResponse {
            let future = StartOver.recording(of: stream, at: instant, in: index, uri: "/cam1/live.m3u8?start=x&token=ab",
                                             otherwise: .beforeWindow(oldest: 1_800_010_000_000), eventLoop: loop)
            return try await future.get()
        }
        let covered = try await answer(1_800_003_700_250)
        #expect(covered.status == .found)
        #expect(covered.headers.first(name: "Location") == "/vod/00000000000000a2/index.m3u8?offset=100.250&token=ab")
        let gap = try await answer(1_800_002_000_000)
        #expect(gap.status == .notFound && String(buffer: gap.body ?? ByteBuffer()).contains("start_not_available"))
    }
}
