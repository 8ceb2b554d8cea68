import Foundation
@testable import Media
import Testing

/// Playlists and manifests against golden files. To re-record after a deliberate change, run
/// with `SLUICE_RECORD_GOLDEN=1` and review the diff.
@Suite struct PlaylistWriterTests {
    static func golden(_ name: String, _ text: String) throws {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Golden"))
        if ProcessInfo.processInfo.environment["SLUICE_RECORD_GOLDEN"] == "1" {
            let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/\(name)")
            try text.write(to: source, atomically: true, encoding: .utf8)
        }
        #expect(try String(contentsOf: url, encoding: .utf8) == text)
    }

    @Test func classicPlaylistWithDiscontinuity() throws {
        let playlist = MediaPlaylist(version: 3, targetDuration: 2, mediaSequence: 41, discontinuitySequence: 1, segments: [
            .init(uri: "ts/00000000000000aa-41.ts", duration: 2.002),
            .init(uri: "ts/00000000000000bb-42.ts", duration: 1.5, discontinuity: true),
        ])
        try Self.golden("classic.m3u8", playlist.render())
    }

    @Test func lowLatencyDeltaPlaylist() throws {
        var playlist = MediaPlaylist(
            version: 9, targetDuration: 2, mediaSequence: 10,
            serverControl: .init(canBlockReload: true, partHoldBack: 1.5, canSkipUntil: 12), partTarget: 0.5,
            skippedSegments: 3, segments: [
                .init(uri: "cmaf/s/video-13.m4s", duration: 2, map: "cmaf/s/video-init.mp4", parts: [
                    .init(uri: "cmaf/s/video-13.0.m4s", duration: 0.5, isIndependent: true),
                    .init(uri: "cmaf/s/video-13.1.m4s", duration: 0.5, isIndependent: false),
                ]),
            ],
            pendingParts: [.init(uri: "cmaf/s/video-14.0.m4s", duration: 0.5, isIndependent: true)],
            preloadHint: "cmaf/s/video-14.1.m4s",
            renditionReports: [.init(uri: "../720p/llhls-video.m3u8", lastMediaSequence: 14, lastPart: 0)])
        playlist.pendingDiscontinuity = true
        playlist.pendingMap = "cmaf/t/video-init.mp4"
        try Self.golden("llhls-delta.m3u8", playlist.render())
    }

    @Test func multivariantWithAudioGroup() throws {
        let playlist = MultivariantPlaylist(version: 9, audio: [.init(uri: "llhls-audio.m3u8", groupID: "audio", name: "Audio", channels: 2)],
                                            variants: [.init(uri: "llhls-video.m3u8", bandwidth: 1_296_000,
                                                             codecs: ["avc1.64001f", "mp4a.40.2"],
                                                             resolution: PictureSize(width: 1280, height: 720),
                                                             frameRate: 30, audioGroup: "audio")])
        try Self.golden("multivariant.m3u8", playlist.render())
    }

    @Test func dynamicManifest() throws {
        let video = DASHManifest.Representation(
            id: "video", contentType: "video", mimeType: "video/mp4", codecs: "avc1.42c01e", bandwidth: 1_200_000,
            size: PictureSize(width: 640, height: 360), timescale: 90_000, initialization: "cmaf/s/$RepresentationID$-init.mp4",
            media: "cmaf/s/$RepresentationID$-$Number$.m4s", startNumber: 5, presentationTimeOffset: 0,
            timeline: [.init(time: 900_000, duration: 180_000, repeatCount: 2), .init(time: 1_440_000, duration: 90_000)])
        let manifest = DASHManifest(availabilityStartTime: Date(timeIntervalSince1970: 1_800_000_000),
                                    publishTime: Date(timeIntervalSince1970: 1_800_000_020.25), minimumUpdatePeriod: 2,
                                    timeShiftBufferDepth: 7, minBufferTime: 2, suggestedPresentationDelay: 4,
                                    periods: [.init(id: "s", start: 0, representations: [video])])
        try Self.golden("manifest.mpd", manifest.render())
    }

    @Test func numbersAreWrittenWithoutLocaleOrExponent() {
        #expect(PlaylistNumber.fixed(2.0004, places: 3) == "2.000")
        #expect(PlaylistNumber.fixed(0.0305, places: 3) == "0.031")
        #expect(PlaylistNumber.short(1.5) == "1.5")
        #expect(PlaylistNumber.short(12) == "12")
    }
}
