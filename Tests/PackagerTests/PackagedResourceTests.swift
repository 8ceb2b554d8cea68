import Packager
import Testing

@Suite struct PackagedResourceTests {
    @Test(arguments: [
        "live.m3u8", "llhls.m3u8", "llhls-video.m3u8", "llhls-audio.m3u8", "manifest.mpd",
        "ts/00000000000000ab-12.ts", "ts/00000000000000ab-1-12.ts", "cmaf/00000000000000ab/video-init.mp4",
        "cmaf/00000000000000ab/audio-7.m4s", "cmaf/00000000000000ab-2/video-7.3.m4s", "cmaf/00000000000000ab/video-d0.m4s",
        "cmaf/00000000000000ab-1/audio-d4294967295.m4s",
    ])
    func namesRoundTrip(_ path: String) throws {
        let resource = try #require(PackagedResource(path: path.split(separator: "/")))
        #expect(resource.relativePath == path)
    }

    @Test(arguments: ["live.m3u", "ts/abc.ts", "cmaf/x/subtitle-1.m4s", "cmaf/x/video-1.2.3.m4s", "cmaf/x/video-a.m4s", "a/b/c/d",
                      "cmaf/00000000000000ab/video--9223372036854775808.m4s", "cmaf/00000000000000ab/video-4294967296.m4s",
                      "cmaf/00000000000000ab/video-1.-1.m4s", "cmaf/00000000000000ab/video-01.m4s", "ts/00000000000000ab--1.ts",
                      "ts/00000000000000ab-1--9223372036854775808.ts", "cmaf/00000000000000AB/video-1.m4s",
                      "cmaf/00000000000000ab-0/video-1.m4s", "cmaf/00000000000000ab-x/video-1.m4s", "ts/ab-12.ts",
                      "cmaf/00000000000000ab/video-d.m4s", "cmaf/00000000000000ab/video-d01.m4s", "cmaf/00000000000000ab/video-d-1.m4s",
                      "cmaf/00000000000000ab/video-d4294967296.m4s", "cmaf/00000000000000ab/video-d1.2.m4s"])
    func rejectsOtherNames(_ path: String) {
        #expect(PackagedResource(path: path.split(separator: "/")) == nil)
    }
}
