import Foundation
@testable import Media
import NIOCore
import TestSupport
import Testing

/// What a demuxed stream holds, read back through `MediaTagInfo` as ingest reads it.
struct DemuxedStream {
    struct Video {
        var dts: Int64
        var info: VideoTagInfo
        var data: ByteBuffer
    }

    var tags: [DemuxedTag]
    var statistics: MPEGTSDemuxer.Statistics

    var video: [Video] {
        tags.filter { $0.type == .video }.compactMap { tag in
            guard let info = try? VideoTagInfo(body: tag.body) else { return nil }
            let data = tag.body.getSlice(at: tag.body.readerIndex + info.dataOffset, length: tag.body.readableBytes - info.dataOffset)
            return Video(dts: tag.dts, info: info, data: data ?? ByteBuffer())
        }
    }

    var videoFrames: [Video] { video.filter { !$0.info.isSequenceHeader } }
    var audio: [DemuxedTag] { tags.filter { $0.type == .audio } }
    var audioFrames: [DemuxedTag] { audio.filter { (try? AudioTagInfo(body: $0.body))?.isSequenceHeader == false } }

    /// Feeds `bytes` in the given piece sizes (one piece when empty), then flushes.
    static func demux(_ bytes: ByteBuffer, pieces: [Int] = [], limits: MPEGTSDemuxer.Limits = .init()) -> DemuxedStream {
        var demuxer = MPEGTSDemuxer(limits: limits)
        var tags: [DemuxedTag] = []
        var rest = bytes
        var sizes = pieces.makeIterator()
        while rest.readableBytes > 0 {
            let size = min(sizes.next() ?? rest.readableBytes, rest.readableBytes)
            tags += demuxer.feed(rest.readSlice(length: size)!)
        }
        tags += demuxer.flush()
        return DemuxedStream(tags: tags, statistics: demuxer.statistics)
    }

    static func fixture(_ name: String) throws -> ByteBuffer {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Golden/MPEGTS"))
        return ByteBuffer(bytes: try Data(contentsOf: url))
    }
}

/// The demuxer over transport streams FFmpeg wrote (Golden/MPEGTS/README.md says how), checked
/// against what ffprobe reads from the same files.
@Suite struct MPEGTSDemuxerTests {
    @Test func h264WithBFramesAndAAC() throws {
        let stream = DemuxedStream.demux(try DemuxedStream.fixture("h264-aac.ts"))
        #expect(stream.statistics.continuityErrors == 0 && stream.statistics.pesDropped == 0 && stream.statistics.framesDropped == 0)
        #expect(stream.statistics.unsupportedStreams == 0 && stream.statistics.resyncs == 0)
        let video = stream.video
        #expect(video.first?.info.isSequenceHeader == true)
        #expect(video.filter(\.info.isSequenceHeader).count == 1)
        let record = try #require(video.first?.data)
        let configuration = try AVCConfiguration(record: record)
        #expect(configuration.width == 160 && configuration.height == 120 && configuration.nalLengthSize == 4)
        try Self.checkVideo(stream.videoFrames, codec: .h264, count: 60, keyframes: 2)
        #expect(stream.videoFrames.contains { $0.info.compositionTime > 0 })

        let audio = stream.audio
        #expect((try? AudioTagInfo(body: audio[0].body))?.isSequenceHeader == true)
        let config = try AACConfiguration(bytes: audio[0].body.getSlice(at: 2, length: audio[0].body.readableBytes - 2)!)
        #expect(config.sampleRate == 44100 && config.channels == 1 && config.objectType == 2)
        let frames = stream.audioFrames
        #expect(frames.count == 88)
        // ffprobe: 129910 + k · 1024 · 90000 / 44100 ticks, from the first video DTS (126000).
        for (index, frame) in frames.enumerated() {
            let expected = (3910 + Double(index) * 1024 * 90000 / 44100) / 90
            #expect(abs(Double(frame.dts) - expected) <= 1.01, "audio frame \(index) at \(frame.dts) ms")
        }
    }

    @Test func hevcWithBFrames() throws {
        let stream = DemuxedStream.demux(try DemuxedStream.fixture("hevc.ts"))
        #expect(stream.statistics.pesDropped == 0 && stream.statistics.framesDropped == 0)
        let header = try #require(stream.video.first)
        #expect(header.info.isSequenceHeader && header.info.codec == .hevc)
        let configuration = try HEVCConfiguration(record: header.data)
        #expect(configuration.width == 160 && configuration.height == 120)
        #expect(configuration.codecString.hasPrefix("hvc1.1."))
        #expect(configuration.record[16] & 0x03 == 1 && configuration.record[17] & 0x07 == 0)  // 4:2:0, 8-bit
        try Self.checkVideo(stream.videoFrames, codec: .hevc, count: 60, keyframes: 2)
        #expect(stream.audio.isEmpty)
    }

    @Test func videoOnlyWithoutBFrames() throws {
        let stream = DemuxedStream.demux(try DemuxedStream.fixture("h264.ts"))
        try Self.checkVideo(stream.videoFrames, codec: .h264, count: 30, keyframes: 2, bFrames: false)
        #expect(stream.videoFrames.allSatisfy { $0.info.compositionTime == 0 })
        #expect(stream.audio.isEmpty)
    }

    @Test func audioOnly() throws {
        let stream = DemuxedStream.demux(try DemuxedStream.fixture("aac.ts"))
        #expect(stream.video.isEmpty)
        #expect(stream.audio.count == 96)
        #expect((try? AudioTagInfo(body: stream.audio[0].body))?.isSequenceHeader == true)
        // ffprobe: 126000 + k · 1920 ticks (1024 samples at 48 kHz).
        let expected: [Int64] = (0..<Int64(95)).map { $0 * 1920 / 90 }
        #expect(stream.audioFrames.map(\.dts) == expected)
    }

    /// Frames in decode order from DTS 0 every 1/30 s; with B-frames, the presentation times are
    /// ffprobe's (PTS 132000 + 3000·k sorted, so 66 ms + k · 33.3 ms); length-prefixed units with
    /// no delimiters or parameter sets left in them.
    static func checkVideo(_ frames: [DemuxedStream.Video], codec: VideoCodec, count: Int, keyframes: Int,
                           bFrames: Bool = true) throws {
        #expect(frames.count == count)
        #expect(frames.filter(\.info.isKeyframe).count == keyframes)
        #expect(frames.first?.info.isKeyframe == true)
        #expect(frames.allSatisfy { $0.info.codec == codec && $0.info.isCodedFrame })
        let decodeTimes: [Int64] = (0..<Int64(count)).map { $0 * 3000 / 90 }
        #expect(frames.map(\.dts) == decodeTimes)
        let presentation = frames.map { $0.dts + Int64($0.info.compositionTime) }.sorted()
        let first = bFrames ? 6000 : 0
        for (index, time) in presentation.enumerated() {
            #expect(abs(time - Int64((first + index * 3000) / 90)) <= 1, "frame \(index) presented at \(time)")
        }
        for frame in frames {
            var data = frame.data
            while data.readableBytes > 0 {
                guard let length = data.readInteger(as: UInt32.self), let unit = data.readSlice(length: Int(length)),
                      let header = unit.getInteger(at: unit.readerIndex, as: UInt8.self) else {
                    Issue.record("NAL unit lengths do not add up")
                    return
                }
                let type = codec == .h264 ? header & 0x1F : header >> 1 & 0x3F
                let dropped: [UInt8] = codec == .h264 ? [7, 8, 9, 12] : [32, 33, 34, 35, 38]
                #expect(!dropped.contains(type))
            }
        }
    }

    @Test func anySplitOfTheBytesGivesTheSameTags() throws {
        let bytes = try DemuxedStream.fixture("h264-aac.ts")
        let whole = DemuxedStream.demux(bytes)
        let byteByByte = DemuxedStream.demux(bytes, pieces: Array(repeating: 1, count: bytes.readableBytes))
        #expect(byteByByte.tags == whole.tags)
        #expect(byteByByte.statistics == whole.statistics)
        var random = SeededGenerator(seed: 20)
        let pieces = (0..<2000).map { _ in Int.random(in: 1...1500, using: &random) }
        #expect(DemuxedStream.demux(bytes, pieces: pieces).tags == whole.tags)
    }

    @Test func hevcSampleFormatIsReadFromTheSPS() throws {
        let stream = DemuxedStream.demux(try DemuxedStream.fixture("hevc.ts"))
        let configuration = try HEVCConfiguration(record: try #require(stream.video.first).data)
        let sps = try #require(configuration.parameterSets.first { ($0.first ?? 0) >> 1 & 0x3F == 33 })
        let format = try HEVCConfiguration.sampleFormat(sps: sps)
        #expect(format.chromaFormat == 1 && format.bitDepth == 8)
        #expect(throws: MediaFormatError.self) { try HEVCConfiguration.sampleFormat(sps: Array(sps.prefix(8))) }
    }
}
