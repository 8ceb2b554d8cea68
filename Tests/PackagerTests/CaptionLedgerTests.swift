import Events
import Foundation
import Media
import NIOCore
@testable import Packager
import Testing

/// Caption channels in the packaged window: found in the video frames' SEI, described in the
/// LL-HLS multivariant playlist and the MPD, the same on a node that started reading later,
/// and gone once the captioned segments have left the window.
@Suite struct CaptionLedgerTests {
    /// An H.264 SEI NAL unit with A/53 cc_data `triples` (T.35 0xB5 0x0031 'GA94', type 3).
    static func sei(_ triples: [UInt8]) -> [UInt8] {
        let payload: [UInt8] = [0xB5, 0x00, 0x31, 0x47, 0x41, 0x39, 0x34, 0x03, 0x40 | UInt8(triples.count / 3), 0xFF]
            + triples + [0xFF]
        return [0x06, 0x04, UInt8(payload.count)] + payload + [0x80]
    }

    /// RCL on CC1 (0x94 0x20 with parity).
    static let cc1 = sei([0xFC, 0x94, 0x20])

    /// `frames` with `nal` put in front of the NAL units of the video frames `where` picks.
    static func captioned(_ frames: [MediaFrame], with nal: [UInt8], where picks: (MediaFrame) -> Bool = { _ in true }) -> [MediaFrame] {
        frames.map { frame in
            guard frame.kind == .video, !frame.isSequenceHeader, picks(frame) else { return frame }
            var body = Array(frame.payload.readableBytesView)
            let length = UInt32(nal.count)
            body.insert(contentsOf: [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)] + nal,
                        at: 5)
            var copy = frame
            copy.payload = ByteBuffer(bytes: body)
            return copy
        }
    }

    @Test func captionedVideoIsDescribedInTheMultivariantPlaylistAndTheMPD() throws {
        var timeline = LiveTimeline(configuration: PackagingConfiguration(segmentSeconds: 2, listSize: 3))
        var stream = SyntheticStream()
        try timeline.feed(Self.captioned(stream.frames(seconds: 9), with: Self.cc1))
        let playlist = try #require(timeline.multivariantPlaylist()).render()
        #expect(playlist.contains(#"#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="CC1",DEFAULT=NO,AUTOSELECT=YES,INSTREAM-ID="CC1""#
            + "\n"), "\(playlist)")
        #expect(playlist.contains(#"AUDIO="audio",CLOSED-CAPTIONS="cc""#), "\(playlist)")
        let manifest = try #require(timeline.dashManifest()).render()
        let lines = manifest.split(separator: "\n").map(String.init)
        let accessibility = try #require(lines.firstIndex { $0.contains("<Accessibility") })
        #expect(lines[accessibility] == #"      <Accessibility schemeIdUri="urn:scte:dash:cc:cea-608:2015" value="CC1=und"/>"#)
        #expect(lines[accessibility - 1].contains(#"contentType="video""#), "on the video adaptation set: \(manifest)")
        #expect(lines.filter { $0.contains("<Accessibility") }.count == 1, "not on the audio set")

        var plain = LiveTimeline(configuration: PackagingConfiguration(segmentSeconds: 2, listSize: 3))
        var other = SyntheticStream()
        try plain.feed(other.frames(seconds: 9))
        #expect(try #require(plain.multivariantPlaylist()).render().contains("CLOSED-CAPTIONS") == false)
        #expect(try #require(plain.dashManifest()).render().contains("Accessibility") == false)
    }

    @Test func captionsThatStoppedAreDescribedUntilTheirSegmentsLeaveTheWindow() throws {
        let configuration = PackagingConfiguration(segmentSeconds: 2, listSize: 3)
        var timeline = LiveTimeline(configuration: configuration)
        var stream = SyntheticStream()
        // Captions in the first 4 s only, then 40 s without (the window keeps 15 segments of 2 s).
        try timeline.feed(Self.captioned(stream.frames(seconds: 4), with: Self.cc1))
        #expect(timeline.captionChannels.instreamIDs == ["CC1"])
        try timeline.feed(stream.frames(seconds: 40, start: 4000, headers: false))
        #expect(timeline.captionChannels.isEmpty, "held: \(timeline.segments.map(\.mediaSequence))")
        #expect(try #require(timeline.multivariantPlaylist()).render().contains("CLOSED-CAPTIONS") == false)
    }

    /// A DTVCC packet that starts in one segment and ends in the next counts for neither, so a
    /// node that began reading at the second says what one that read on says.
    @Test func aLateNodeDescribesTheSameChannels() throws {
        let configuration = PackagingConfiguration(segmentSeconds: 2, listSize: 3)
        let log = DeterministicPackagingTests.stampedLog(seconds: 20)
        // Service 1 in whole packets; service 2's packet starts on the frame before each segment
        // start and ends on it; CC2 on segment starts.
        let starts = Set(log.filter { $0.kind == .video && $0.startsSegment }.map(\.dts))
        var captioned = Self.captioned(log, with: Self.sei([0xFF, 0x02, 0x22, 0xFE, 0x41, 0x42, 0xFF, 0x03, 0x44, 0xFE, 0x41, 0x42]),
                                       where: { starts.contains($0.dts + 33) || starts.contains($0.dts + 34) })
        captioned = Self.captioned(captioned, with: Self.sei([0xFE, 0x43, 0x44, 0xFF, 0x02, 0x22, 0xFE, 0x41, 0x42, 0xFC, 0x1C, 0x20]),
                                   where: { $0.startsSegment })
        var early = LiveTimeline(configuration: configuration)
        try early.feed(captioned)
        let late = try DeterministicPackagingTests.lateNode(captioned, fromKeyframe: 9, configuration: configuration)
        #expect(early.captionChannels.instreamIDs == ["CC2", "SERVICE1"], "service 2's packets always cross a segment start")
        #expect(late.captionChannels == early.captionChannels)
        #expect(late.multivariantPlaylist()?.closedCaptions == early.multivariantPlaylist()?.closedCaptions)
        // (The MPDs list windows of different lengths: the late node has fewer segments.)
        let descriptors = { (timeline: LiveTimeline) in timeline.dashManifest()?.render().split(separator: "\n").filter { $0.contains("Accessibility") } }
        #expect(descriptors(late) == descriptors(early) && descriptors(early)?.count == 2)
    }
}
