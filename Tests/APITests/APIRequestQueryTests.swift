import Testing
@testable import API

@Suite struct APIRequestQueryTests {
    @Test func plainAndEscapedValuesAreDecoded() {
        let query = APIRequest.query(of: "/cam/llhls-video.m3u8?_HLS_msn=12&_HLS_part=3&name=a%20b&empty&x=1&x=2")
        #expect(query == ["_HLS_msn": "12", "_HLS_part": "3", "name": "a b", "empty": "", "x": "2"])
    }

    @Test func brokenEscapesAreKeptAsSent() {
        #expect(APIRequest.query(of: "/p?a=%zz&b=100%") == ["a": "%zz", "b": "100%"])
        #expect(APIRequest.query(of: "/p") == [:])
        #expect(APIRequest.segments(of: "/a%2Fb//c%") == ["a/b", "c%"])
    }
}
