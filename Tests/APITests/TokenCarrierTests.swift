import Testing
@testable import API

@Suite struct TokenCarrierTests {
    let query = "expires=1800000000&token=00ff"

    @Test func onlyWellFormedTokensAreCarried() {
        #expect(TokenCarrier.query(from: ["expires": "1800000000", "token": "00ff", "x": "1"], ticket: nil) == query)
        #expect(TokenCarrier.query(from: ["expires": "1800000000"], ticket: nil) == nil)
        #expect(TokenCarrier.query(from: ["expires": "1\n#EXT", "token": "00ff"], ticket: nil) == nil)
        #expect(TokenCarrier.query(from: ["expires": "1", "token": "zz\"><"], ticket: nil) == nil)
    }

    @Test func everyURIOfAPlaylistCarriesTheToken() {
        let playlist = """
            #EXTM3U
            #EXT-X-MAP:URI="cmaf/s/video-init.mp4"
            #EXT-X-PART:DURATION=0.500,URI="cmaf/s/video-13.0.m4s",INDEPENDENT=YES
            #EXTINF:2.000,
            ts/s-13.ts
            #EXT-X-PRELOAD-HINT:TYPE=PART,URI="cmaf/s/video-13.1.m4s"
            #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="audio",URI="llhls-audio.m3u8?x=1"

            """
        let expected = """
            #EXTM3U
            #EXT-X-MAP:URI="cmaf/s/video-init.mp4?\(query)"
            #EXT-X-PART:DURATION=0.500,URI="cmaf/s/video-13.0.m4s?\(query)",INDEPENDENT=YES
            #EXTINF:2.000,
            ts/s-13.ts?\(query)
            #EXT-X-PRELOAD-HINT:TYPE=PART,URI="cmaf/s/video-13.1.m4s?\(query)"
            #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="audio",URI="llhls-audio.m3u8?x=1&\(query)"

            """
        #expect(TokenCarrier.carry(query, intoPlaylist: playlist) == expected)
    }

    @Test func segmentTemplatesOfAManifestCarryTheToken() {
        let manifest = #"<SegmentTemplate timescale="90000" initialization="cmaf/s/$RepresentationID$-init.mp4" media="cmaf/s/$RepresentationID$-$Number$.m4s" startNumber="5">"#
        let carried = TokenCarrier.carry(query, intoManifest: manifest)
        let escaped = "expires=1800000000&amp;token=00ff"
        #expect(carried == #"<SegmentTemplate timescale="90000" initialization="cmaf/s/$RepresentationID$-init.mp4?"# + escaped
            + #"" media="cmaf/s/$RepresentationID$-$Number$.m4s?"# + escaped + #"" startNumber="5">"#)
    }
}

@Suite struct TicketRedirectTests {
    @Test func theRedirectStaysOnTheRequestsHostAndFolder() {
        #expect(TokenCarrier.replacingTicket(in: "/abc/llhls.m3u8?pass=yes", with: "1.ff") == "llhls.m3u8?adm=1.ff&pass=yes")
        #expect(TokenCarrier.replacingTicket(in: "//evil.example/live.m3u8", with: "1.ff") == "live.m3u8?adm=1.ff")
        #expect(TokenCarrier.replacingTicket(in: "/abc/720p/index.m3u8?_HLS_msn=3", with: "1.ff") == "index.m3u8?adm=1.ff&_HLS_msn=3")
    }

    @Test func everySpellingOfAnOldTicketIsReplaced() {
        for query in ["adm=old", "%61dm=old", "adm", "a%64m=old&adm=other"] {
            let location = TokenCarrier.replacingTicket(in: "/abc/live.m3u8?\(query)&x=1", with: "1.ff")
            #expect(location == "live.m3u8?adm=1.ff&x=1", "\(query)")
        }
    }

    @Test func onlyASCIIValuesAreCarried() {
        #expect(TokenCarrier.query(from: ["expires": "1800000000", "token": "００ff"], ticket: nil) == nil)
        #expect(TokenCarrier.query(from: [:], ticket: "1.ｆｆ") == nil)
        #expect(TokenCarrier.query(from: [:], ticket: "1800000000.00ff") == "adm=1800000000.00ff")
    }
}
