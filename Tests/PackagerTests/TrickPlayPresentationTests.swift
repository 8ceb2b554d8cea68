import Events
import Foundation
import Logging
import Media
@testable import Packager
import Testing

/// Trick play as the multivariant playlists and MPDs describe it, for a stream and its renditions.
@Suite struct TrickPlayPresentationTests {
    let stream = StreamID("cam")!

    private func channel(iFrames: Bool = true, thumbnails: Bool = true) -> StreamChannel {
        var outputs = StreamChannel.Outputs()
        (outputs.hls, outputs.llhls, outputs.dash) = (true, true, true)
        return StreamChannel(name: "cam", outputs: outputs, trickPlay: .init(iFramePlaylists: iFrames, thumbnails: .init(
            enabled: thumbnails, intervalSeconds: 2, columns: 3, rows: 2, width: 128)))
    }

    private func fed(_ channel: StreamChannel, renditions: [String] = []) async -> PackagerHub {
        let hub = PackagerHub(bus: EmbeddedEventBus(), channels: OneChannel(channel: channel), logger: Logger(label: "test"))
        var synthetic = SyntheticStream()
        let origin = Date(timeIntervalSince1970: 1_800_000_000)
        for frame in synthetic.frames(seconds: 9) {
            let arrival = origin.addingTimeInterval(Double(frame.dts) / 1000)
            await hub.handle(frame, of: stream, arrival: arrival)
            for name in renditions {
                var copy = frame
                copy.rendition = name
                await hub.handle(copy, of: stream, arrival: arrival)
            }
        }
        return hub
    }

    private func text(_ response: PackagedResponse) -> String? {
        guard case .content(let body, _, _, _) = response else { return nil }
        return String(buffer: body)
    }

    @Test func theSourcesMultivariantPlaylistAndMPDListBoth() async throws {
        let hub = await fed(channel())
        let package = try #require(hub.package(for: stream))
        let master = try #require(package.lowLatencyMaster()).render()
        let lines = master.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=") && $0.hasSuffix(#",RESOLUTION=640x360,CODECS="avc1.42c01e",URI="iframes.m3u8""#) },
                "\(master)")
        // 128 px tiles of a 640×360 picture are 72 high; a 3 × 2 sprite of 2 s tiles stands for 12 s.
        #expect(lines.contains(#"#EXT-X-IMAGE-STREAM-INF:BANDWIDTH=4608,RESOLUTION=128x72,CODECS="jpeg",URI="thumbnails.m3u8""#), "\(master)")
        let mpd = try #require(package.dashManifest()).render()
        #expect(mpd.contains(#"<AdaptationSet contentType="image" mimeType="image/jpeg">"#), "\(mpd)")
        #expect(mpd.contains(#"<Representation id="thumbnails" bandwidth="4608" width="384" height="144">"#))
        #expect(mpd.contains(#"<EssentialProperty schemeIdUri="http://dashif.org/thumbnail_tile" value="3x2"/>"#))
        #expect(mpd.contains(#"media="thumbnails/$Number$-3x2-128-2s.jpg" startNumber="150000000""#), "\(mpd)")
        #expect(mpd.contains(#"<S t="1800000000000" d="12000"/>"#), "\(mpd)")
        guard case .content = package.iFramePlaylist() else {
            Issue.record("no I-frame playlist")
            return
        }
    }

    @Test func offMeansNotListedAndNotServed() async throws {
        let hub = await fed(channel(iFrames: false, thumbnails: false))
        let package = try #require(hub.package(for: stream))
        let master = try #require(package.lowLatencyMaster()).render()
        #expect(!master.contains("I-FRAME") && !master.contains("IMAGE"), "\(master)")
        #expect(!(try #require(package.dashManifest()).render().contains("image")))
        guard case .notFound = package.iFramePlaylist() else {
            Issue.record("an I-frame playlist with them off")
            return
        }
    }

    @Test func theABRMastersListEachRenditionsIFramesAndOneThumbnailTrack() async throws {
        let hub = await fed(channel(), renditions: ["720p", "360p"])
        let classic = try #require(text(hub.respond(to: .classic, of: stream)))
        let iFrames = classic.split(separator: "\n").filter { $0.hasPrefix("#EXT-X-I-FRAME-STREAM-INF:") }
        #expect(iFrames.count == 2 && iFrames[0].hasSuffix(#"URI="360p/iframes.m3u8""#) && iFrames[1].hasSuffix(#"URI="720p/iframes.m3u8""#),
                "\(classic)")
        #expect(classic.components(separatedBy: "#EXT-X-IMAGE-STREAM-INF:").count == 2, "\(classic)")
        let lowLatency = try #require(text(hub.respond(to: .lowLatency, of: stream)))
        #expect(lowLatency.contains(#"URI="thumbnails.m3u8""#) && !lowLatency.contains("I-FRAME"), "\(lowLatency)")
        let mpd = try #require(text(hub.respond(to: .dash, of: stream)))
        #expect(mpd.components(separatedBy: #"contentType="image""#).count == 2, "\(mpd)")
        for rendition in ["360p", "720p"] {
            guard case .content = try #require(hub.package(for: stream, rendition: rendition)).iFramePlaylist() else {
                Issue.record("\(rendition) has no I-frame playlist")
                continue
            }
        }
    }
}
