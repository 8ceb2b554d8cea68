import Foundation
@testable import Media
import Testing

/// Closed captions as the multivariant playlist (RFC 8216bis §4.4.6.1–2) and the MPD (SCTE
/// 214-1 Accessibility) describe them, against golden files.
@Suite struct CaptionDescriptionTests {
    @Test func multivariantPlaylistWithCaptionChannels() throws {
        var playlist = MultivariantPlaylist(version: 3, variants: [
            .init(uri: "360p/index.m3u8", bandwidth: 900_000, codecs: ["avc1.64001e", "mp4a.40.2"],
                  resolution: PictureSize(width: 640, height: 360), frameRate: 30),
            .init(uri: "720p/index.m3u8", bandwidth: 2_400_000, codecs: ["avc1.64001f", "mp4a.40.2"],
                  resolution: PictureSize(width: 1280, height: 720), frameRate: 30),
        ])
        playlist.describe(captions: CaptionChannels(cea608: [1, 3], cea708: [1]))
        #expect(playlist.version == 7, "INSTREAM-ID SERVICEn needs version 7")
        try PlaylistWriterTests.golden("multivariant-captions.m3u8", playlist.render())

        var onlyCC = MultivariantPlaylist(version: 3, variants: playlist.variants.map { variant in
            var plain = variant
            plain.closedCaptions = nil
            return plain
        })
        let unchanged = onlyCC
        onlyCC.describe(captions: CaptionChannels())
        #expect(onlyCC == unchanged, "no captions: nothing said")
        onlyCC.describe(captions: CaptionChannels(cea608: [1]))
        #expect(onlyCC.version == 3)
    }

    @Test func manifestWithCaptionedVideo() throws {
        var video = DASHManifest.Representation(
            id: "video", contentType: "video", mimeType: "video/mp4", codecs: "avc1.42c01e", bandwidth: 1_200_000,
            size: PictureSize(width: 640, height: 360), timescale: 90_000, initialization: "cmaf/s/$RepresentationID$-init.mp4",
            media: "cmaf/s/$RepresentationID$-$Number$.m4s", startNumber: 0, presentationTimeOffset: 0,
            timeline: [.init(time: 0, duration: 180_000, repeatCount: 2)])
        video.captions = CaptionChannels(cea608: [1], cea708: [1, 2])
        let audio = DASHManifest.Representation(
            id: "audio", contentType: "audio", mimeType: "audio/mp4", codecs: "mp4a.40.2", bandwidth: 128_000, sampleRate: 44_100,
            timescale: 44_100, initialization: "cmaf/s/$RepresentationID$-init.mp4", media: "cmaf/s/$RepresentationID$-$Number$.m4s",
            startNumber: 0, presentationTimeOffset: 0, timeline: [.init(time: 0, duration: 88_200, repeatCount: 2)])
        let manifest = DASHManifest(availabilityStartTime: Date(timeIntervalSince1970: 1_800_000_000),
                                    publishTime: Date(timeIntervalSince1970: 1_800_000_006), minimumUpdatePeriod: 2,
                                    timeShiftBufferDepth: 6, minBufferTime: 2, suggestedPresentationDelay: 4,
                                    periods: [.init(id: "s", start: 0, representations: [video, audio])])
        try PlaylistWriterTests.golden("manifest-captions.mpd", manifest.render())
    }
}
