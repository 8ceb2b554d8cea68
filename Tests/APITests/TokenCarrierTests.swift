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
