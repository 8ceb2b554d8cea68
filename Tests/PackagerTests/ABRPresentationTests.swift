import Events
import Foundation
import Logging
import NIOCore
import NIOEmbedded
@testable import Packager
import Testing

/// A stream's renditions packaged side by side and presented together.
@Suite struct ABRPresentationTests {
    let stream = StreamID("cam")!

    /// Every stream packaged on the defaults, or as `channel` says.
    private func hub(_ channel: StreamChannel? = nil) -> PackagerHub {
        PackagerHub(bus: EmbeddedEventBus(), channels: channel.map { OneChannel(channel: $0) }, logger: Logger(label: "test"))
    }

    /// Six seconds of the same synthetic stream as the source and as each named rendition.
    private func feed(_ hub: PackagerHub, renditions: [String], includeSource: Bool = true) async {
        var synthetic = SyntheticStream()
        let frames = synthetic.frames(seconds: 6)
        let origin = Date(timeIntervalSince1970: 1_800_000_000)
        for frame in frames {
            let arrival = origin.addingTimeInterval(Double(frame.dts) / 1000)
            if includeSource { await hub.handle(frame, of: stream, arrival: arrival) }
            for name in renditions {
                var copy = frame
                copy.rendition = name
                await hub.handle(copy, of: stream, arrival: arrival)
            }
        }
    }

    private func text(_ response: PackagedResponse) -> String? {
        guard case .content(let body, _, _, _) = response else { return nil }
        return String(buffer: body)
    }

    @Test func theMastersListEveryLiveRenditionLowestFirst() async throws {
        let hub = hub()
        #expect(text(hub.respond(to: .classic, of: stream)) == nil, "nothing before renditions exist")
        await feed(hub, renditions: ["720p", "360p"])
        #expect(hub.renditions(of: stream) == ["360p", "720p"])

        let classic = try #require(text(hub.respond(to: .classic, of: stream)))
        let variants = classic.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(variants == ["360p/index.m3u8", "720p/index.m3u8"], "\(classic)")
        #expect(classic.contains("RESOLUTION=640x360") && classic.contains("CODECS=\"avc1.42c01e,mp4a.40.2\""), "\(classic)")
        #expect(classic.contains("FRAME-RATE=30.000"))

        let lowLatency = try #require(text(hub.respond(to: .lowLatency, of: stream)))
        #expect(lowLatency.contains("#EXT-X-VERSION:9"))
        #expect(lowLatency.contains("#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\"") && lowLatency.contains("URI=\"360p/llhls-audio.m3u8\""),
                "\(lowLatency)")
        #expect(lowLatency.split(separator: "\n").filter { !$0.hasPrefix("#") } == ["360p/llhls-video.m3u8", "720p/llhls-video.m3u8"])
        #expect(lowLatency.components(separatedBy: "AUDIO=\"audio\"").count == 3, "every variant plays the one audio")

        let mpd = try #require(text(hub.respond(to: .dash, of: stream)))
        #expect(mpd.components(separatedBy: "<AdaptationSet").count == 3, "one video set with the ladder, one audio set: \(mpd)")
        #expect(mpd.contains("<Representation id=\"360p\"") && mpd.contains("<Representation id=\"720p\""))
        #expect(mpd.contains("media=\"360p/cmaf/00000000000000ab/video-d$Number$.m4s\""), "\(mpd)")
        #expect(mpd.contains("media=\"720p/cmaf/00000000000000ab/video-d$Number$.m4s\""))
        #expect(mpd.contains("initialization=\"360p/cmaf/00000000000000ab/audio-init.mp4\""))
        #expect(!mpd.contains("$RepresentationID$"), "renamed representations name their files outright")
    }

    /// A slow transcoder's first picture can come alone: the rendition is listed once its frame
    /// rate is known, never first without FRAME-RATE and then with it.
    @Test func aRenditionIsListedOnlyWithEveryAttribute() async throws {
        let hub = hub()
        var synthetic = SyntheticStream()
        let frames = synthetic.frames(seconds: 1)
        let firstVideo = try #require(frames.firstIndex { $0.kind == .video && $0.isKeyframe && !$0.isConfiguration })
        let origin = Date(timeIntervalSince1970: 1_800_000_000)
        for (index, frame) in frames.enumerated() {
            var copy = frame
            copy.rendition = "360p"
            await hub.handle(copy, of: stream, arrival: origin.addingTimeInterval(Double(frame.dts) / 1000))
            let master = text(hub.respond(to: .classic, of: stream))
            if index <= firstVideo {
                #expect(master == nil, "listed after \(index + 1) frames: \(master ?? "")")
            } else if let master {
                #expect(master.contains("FRAME-RATE="), "\(master)")
            }
        }
        #expect(text(hub.respond(to: .classic, of: stream))?.contains("FRAME-RATE=30.000") == true)
    }

    @Test func renditionPlaylistsReportTheirSiblings() async throws {
        let hub = hub()
        await feed(hub, renditions: ["360p", "720p"])
        let package = try #require(hub.package(for: stream, rendition: "360p"))
        let loop = EmbeddedEventLoop()
        var answered: PackagedResponse?
        package.respond(to: .llhlsMedia(.video), request: PlaylistRequest(), eventLoop: loop).whenSuccess { answered = $0 }
        loop.run()
        let response = try #require(answered)
        let reported = try #require(text(hub.reportingRenditions(response, for: .llhlsMedia(.video), of: stream, rendition: "360p")))
        let report = try #require(reported.split(separator: "\n").first { $0.hasPrefix("#EXT-X-RENDITION-REPORT:") })
        #expect(report.hasPrefix("#EXT-X-RENDITION-REPORT:URI=\"../720p/llhls-video.m3u8\",LAST-MSN="), "\(report)")
        #expect(report.contains(",LAST-PART="))
        #expect(!reported.contains("../360p/"), "a rendition does not report itself")
        #expect(text(hub.reportingRenditions(response, for: .llhlsMedia(.video), of: stream, rendition: "")) == text(response),
                "the source's own playlists are left alone")
        guard case .content(_, _, let before, _) = response,
              case .content(_, _, let after, _) = hub.reportingRenditions(response, for: .llhlsMedia(.video), of: stream,
                                                                           rendition: "360p") else {
            Issue.record("no content")
            return
        }
        #expect(before != after, "the entity tag follows the reports")
    }

    @Test func aStandInRenditionIsPackagedAtTheStreamAndTheSourceNot() async throws {
        var channel = StreamChannel(name: "cam")
        (channel.outputs.hls, channel.outputs.llhls, channel.outputs.dash) = (true, true, true)
        (channel.watermark.text.enabled, channel.watermark.text.text) = (true, "live")
        let hub = hub(channel)
        await feed(hub, renditions: [], includeSource: true)
        #expect(hub.package(for: stream) == nil, "the unmarked source is never packaged")
        await feed(hub, renditions: ["watermarked"], includeSource: false)
        #expect(hub.package(for: stream)?.isLive == true)
        #expect(hub.package(for: stream, rendition: "watermarked") == nil)
        #expect(hub.renditions(of: stream).isEmpty)
    }
}
