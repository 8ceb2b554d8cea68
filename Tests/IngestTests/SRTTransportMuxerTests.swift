import Events
import Foundation
import Media
import NIOCore
import Testing
@testable import Ingest

/// An SRT player's MPEG-TS both ways: ffmpeg's transport streams (MediaTests' fixtures) demuxed
/// into the frames a publisher puts on the bus, muxed again by `SRTTransportMuxer` and demuxed
/// once more give the same frames; the stream starts at a random-access point.
@Suite struct SRTTransportMuxerTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("MediaTests/Golden/MPEGTS")

    /// A fixture's frames as a publisher stamps them, configurations first (as a joining player
    /// gets them: the fan-out's snapshot starts with the sequence headers).
    static func frames(_ fixture: String) throws -> [MediaFrame] {
        let bytes = try Data(contentsOf: fixtures.appendingPathComponent(fixture))
        var demuxer = MPEGTSDemuxer()
        let tags = demuxer.feed(ByteBuffer(bytes: bytes)) + demuxer.flush()
        let frames = tags.enumerated().compactMap { index, tag in
            MediaFrame(tag: tag.type, body: tag.body, dts: tag.dts, sessionID: 1, sequence: UInt64(index))
        }
        return frames.filter(\.isConfiguration) + frames.filter { !$0.isConfiguration }
    }

    static func mux(_ frames: [MediaFrame]) -> ByteBuffer {
        var muxer = SRTTransportMuxer()
        var output = ByteBuffer()
        for frame in frames {
            var bytes = muxer.write(frame)
            output.writeBuffer(&bytes)
        }
        return output
    }

    static func demux(_ bytes: ByteBuffer) -> [MediaFrame] {
        var demuxer = MPEGTSDemuxer()
        let tags = demuxer.feed(bytes) + demuxer.flush()
        return tags.compactMap { MediaFrame(tag: $0.type, body: $0.body, dts: $0.dts, sessionID: 1, sequence: 0) }
    }

    static func coded(_ frames: [MediaFrame], _ kind: MediaFrame.Kind) -> [MediaFrame] {
        frames.filter { $0.kind == kind && !$0.isConfiguration }
    }

    @Test(arguments: ["h264-aac.ts", "hevc.ts", "aac.ts", "h264.ts"])
    func framesSurviveMuxingAgain(_ fixture: String) throws {
        let frames = try Self.frames(fixture)
        let output = Self.mux(frames)
        #expect(output.readableBytes % MPEGTSMuxer.packetSize == 0)
        let again = Self.demux(output)
        for kind in [MediaFrame.Kind.video, .audio] {
            let before = Self.coded(frames, kind)
            let after = Self.coded(again, kind)
            #expect(after.count == before.count, "\(fixture) \(kind)")
            // Times count from the first timestamp of each stream, so compare steps.
            #expect(after.map { $0.dts - (after.first?.dts ?? 0) } == before.map { $0.dts - (before.first?.dts ?? 0) })
            #expect(after.map(\.isKeyframe) == before.map(\.isKeyframe))
            #expect(after.map { $0.pts - $0.dts } == before.map { $0.pts - $0.dts })
            if kind == .audio { #expect(after.map(\.payload) == before.map(\.payload)) }
        }
        #expect(again.filter(\.isSequenceHeader).map(\.codec) == frames.filter(\.isSequenceHeader).map(\.codec))
    }

    @Test func nothingIsWrittenBeforeTheFirstKeyframe() throws {
        let frames = try Self.frames("h264.ts")
        let configurations = frames.filter(\.isConfiguration)
        var coded = Self.coded(frames, .video)
        let firstKey = try #require(coded.firstIndex { $0.isKeyframe })
        coded = Array(coded[(firstKey + 1)...])  // starts mid-GOP
        var muxer = SRTTransportMuxer()
        for frame in configurations { #expect(muxer.write(frame).readableBytes == 0) }
        let leading = coded.prefix { !$0.isKeyframe }
        for frame in leading { #expect(muxer.write(frame).readableBytes == 0) }
        let key = try #require(coded.first { $0.isKeyframe })
        var start = muxer.write(key)
        // PAT first, then PMT, then the keyframe's PES.
        #expect(start.getInteger(at: 0, as: UInt8.self) == 0x47 && start.getInteger(at: 1, as: UInt16.self).map { $0 & 0x1FFF } == 0)
        #expect(start.getInteger(at: 189, as: UInt16.self).map { $0 & 0x1FFF } == 0x1000)
        #expect(Self.coded(Self.demux(start.readSlice(length: start.readableBytes)!), .video).count == 1)
    }

    @Test func anAudioOnlyStreamStartsAtItsFirstFrame() throws {
        let frames = try Self.frames("aac.ts")
        var muxer = SRTTransportMuxer()
        let bytes = frames.map { muxer.write($0).readableBytes }
        #expect(bytes.first(where: { $0 > 0 }).map { $0 >= 3 * MPEGTSMuxer.packetSize } == true)
        #expect(muxer.unwritable == 0)
    }
}
