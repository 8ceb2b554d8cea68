import Events
import Foundation
import Media
import NIOCore
import Testing
@testable import Workers

/// Closed captions through the transcoder: the source's A/53 caption SEI comes out in every
/// rendition, H.264 (libx264 writes the decoder's side data back) and H.265 (the transcoder
/// adds the SEI itself), where FFmpeg's decoder finds it again.
@Suite(.serialized) struct CaptionTranscodeTests {
    /// RCL then EOC on CC1 (odd parity), one triple per frame.
    static let triples: [[UInt8]] = [[0xFC, 0x94, 0x20], [0xFC, 0x94, 0x2F]]

    private func source(captioned: Bool) throws -> [MediaFrame] {
        let directory = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("source.flv")
        try MediaFixtures.makeFLV(at: file, input: ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25"], seconds: 2, gop: 25,
                                  audio: false)
        var index = 0
        return try MediaFixtures.frames(ofFLV: file).map { frame in
            guard captioned, frame.kind == .video, let info = try? VideoTagInfo(body: frame.payload), info.isCodedFrame,
                  let sei = CaptionSEI.nalUnit(ccData: Self.triples[index % 2], codec: .h264) else { return frame }
            index += 1
            var body = ByteBuffer(bytes: frame.payload.readableBytesView.prefix(info.dataOffset))
            var units = frame.payload
            units.moveReaderIndex(forwardBy: info.dataOffset)
            body.writeImmutableBuffer(CaptionSEI.inserting(sei, into: units, codec: .h264))
            var copy = frame
            copy.payload = body
            return copy
        }
    }

    /// Runs the ladder; the 360p rendition's frames.
    private func rendition(_ frames: [MediaFrame], codec: EncoderSettings.Codec) throws -> [MediaFrame] {
        let transcoder = try LadderTranscoder(settings: TranscodeSettings(renditions: [.p360], codec: codec), sessionID: 7)
        var output: [MediaFrame] = []
        for frame in frames { output += try transcoder.push(frame) }
        output += transcoder.finish(endingAt: frames.last?.dts ?? 0, sequence: UInt64(frames.count))
        return output.filter { $0.rendition == "360p" && $0.kind == .video }
    }

    /// What `CaptionScanner` and FFmpeg's decoder find in a rendition's frames: the channels,
    /// and how many pictures came with A/53 side data.
    private func captions(in frames: [MediaFrame], codec: VideoCodec) throws -> (CaptionChannels, Int) {
        var scanner = CaptionScanner()
        frames.forEach { scanner.scan(videoTag: $0.payload) }
        let header = try #require(frames.first { $0.isSequenceHeader })
        let info = try VideoTagInfo(body: header.payload)
        let decoder = try VideoDecoder(codec: codec, configuration: Array(header.payload.readableBytesView.dropFirst(info.dataOffset)),
                                       threads: 1)
        let picture = try Frame()
        var captioned = 0
        for frame in frames where !frame.isSequenceHeader {
            let tag = try VideoTagInfo(body: frame.payload)
            try decoder.decode(frame.payload.readableBytesView.dropFirst(tag.dataOffset), pts: frame.pts, dts: frame.dts,
                               keyframe: frame.isKeyframe, into: picture) { if $0.closedCaptionData != nil { captioned += 1 } }
        }
        try decoder.flush(into: picture) { if $0.closedCaptionData != nil { captioned += 1 } }
        return (scanner.channels, captioned)
    }

    @Test(arguments: [EncoderSettings.Codec.h264, .h265])
    func renditionsCarryTheSourcesCaptions(codec: EncoderSettings.Codec) throws {
        let frames = try source(captioned: true)
        let pictures = frames.filter { $0.kind == .video && (try? VideoTagInfo(body: $0.payload))?.isCodedFrame == true }.count
        let output = try rendition(frames, codec: codec)
        let (channels, captioned) = try captions(in: output, codec: codec == .h264 ? .h264 : .hevc)
        #expect(channels.instreamIDs == ["CC1"])
        #expect(captioned == pictures, "\(codec): \(captioned) of \(pictures) pictures decode with their captions")

        let plain = try rendition(try source(captioned: false), codec: codec)
        let (none, uncaptioned) = try captions(in: plain, codec: codec == .h264 ? .h264 : .hevc)
        #expect(none.isEmpty && uncaptioned == 0, "a source without captions gives renditions without")
    }

    @Test func anSEIWrittenForCaptionsReadsBack() throws {
        let data: [UInt8] = (0 ..< 40).flatMap { [0xFC, 0x94, UInt8($0 % 2 == 0 ? 0x20 : 0x00)] }
        for codec in [AnnexB.Codec.h264, .hevc] {
            let nal = try #require(CaptionSEI.nalUnit(ccData: data, codec: codec))
            #expect(CaptionSEI.triples(inSEI: nal, codec: codec).flatMap { [0xF8 | 0x04 | $0.type, $0.data1, $0.data2] } == data)
            let slice: [UInt8] = codec == .h264 ? [0x65, 0x88] : [0x26, 0x01, 0xAF]
            let units = ByteBuffer(bytes: [0, 0, 0, UInt8(slice.count)] + slice)
            let inserted = CaptionSEI.inserting(nal, into: units, codec: codec)
            #expect(CaptionSEI.triples(inAccessUnit: inserted, lengthSize: 4, codec: codec).count == 40)
            #expect(inserted.getInteger(at: inserted.writerIndex - slice.count - 4, as: UInt32.self) == UInt32(slice.count),
                    "the SEI goes before the slice")
        }
        #expect(CaptionSEI.nalUnit(ccData: [0xFC, 0x94], codec: .h264) == nil)
    }
}
