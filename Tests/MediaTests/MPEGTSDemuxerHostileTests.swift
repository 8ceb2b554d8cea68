@testable import Media
import NIOCore
import TestSupport
import Testing

/// Bytes that are not a clean transport stream: garbage between packets, truncation, random
/// mutations and random packets. The demuxer decodes or drops, never traps or hangs.
@Suite struct MPEGTSDemuxerHostileTests {
    @Test func garbageBetweenPacketsIsSkippedAndNothingIsLost() throws {
        let bytes = try DemuxedStream.fixture("h264-aac.ts")
        let clean = DemuxedStream.demux(bytes)
        var dirty = ByteBuffer(bytes: [0x12, 0x47, 0x00, 0x47])  // a false sync byte before the first packet
        let middle = 188 * 100
        dirty.writeImmutableBuffer(bytes.getSlice(at: 0, length: middle)!)
        dirty.writeBytes(Array(repeating: 0x00, count: 97) + [0x47] + Array(repeating: 0x55, count: 30))
        dirty.writeImmutableBuffer(bytes.getSlice(at: middle, length: bytes.readableBytes - middle)!)
        for pieces in [[], Array(repeating: 1, count: dirty.readableBytes), Array(repeating: 1316, count: 100)] {
            let stream = DemuxedStream.demux(dirty, pieces: pieces)
            #expect(stream.statistics.resyncs == 2)
            #expect(stream.tags == clean.tags)
            #expect(stream.statistics.packets == clean.statistics.packets)
        }
    }

    @Test func everyTruncationDecodesOrDrops() throws {
        let bytes = try DemuxedStream.fixture("h264-aac.ts")
        var previous = 0
        for length in stride(from: 0, through: bytes.readableBytes, by: 1231) {
            let stream = DemuxedStream.demux(bytes.getSlice(at: 0, length: length)!)
            #expect(stream.tags.count >= previous, "prefix of \(length) bytes")
            previous = stream.tags.count
        }
        #expect(previous > 100)
    }

    @Test func seededMutationsDecodeOrDrop() throws {
        let fixtures = try ["h264-aac.ts", "hevc.ts", "aac.ts"].map { Array(try DemuxedStream.fixture($0).readableBytesView) }
        var random = SeededGenerator(seed: 0x75_d3)
        var dropped = 0
        for round in 0..<60 {
            var bytes = fixtures[round % fixtures.count]
            for _ in 0..<Int.random(in: 1...200, using: &random) {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            let pieces = (0..<400).map { _ in Int.random(in: 1...2000, using: &random) }
            let stream = DemuxedStream.demux(ByteBuffer(bytes: bytes), pieces: pieces)
            #expect(stream.statistics.packets <= bytes.count / 188)
            dropped += stream.statistics.pesDropped + stream.statistics.continuityErrors + stream.statistics.framesDropped
            for tag in stream.tags where tag.type == .video {
                #expect((try? VideoTagInfo(body: tag.body)) != nil)
            }
        }
        #expect(dropped > 0)
    }

    @Test func seededRandomPacketsDecodeOrDrop() {
        var random = SeededGenerator(seed: 188)
        let pids: [UInt16] = [0, 0x1000, 0x100, 0x101, 0x1FFF]
        for _ in 0..<40 {
            var stream = ByteBuffer()
            var demuxer = MPEGTSDemuxer(limits: .init(maxPESSize: 4096, maxNALUnits: 8, maxParameterSets: 2, maxStreams: 2))
            for _ in 0..<300 {
                let pid = pids.randomElement(using: &random)!
                var packet = (0..<188).map { _ in UInt8.random(in: 0...255, using: &random) }
                packet[0] = 0x47
                packet[1] = packet[1] & 0x40 | UInt8(pid >> 8)
                packet[2] = UInt8(pid & 0xFF)
                if Bool.random(using: &random) { packet[4...7] = [0, 0, 0, 1] }  // a PES start code now and then
                stream.writeBytes(packet)
            }
            _ = demuxer.feed(stream)
            _ = demuxer.flush()
            #expect(demuxer.statistics.packets == 300)
        }
    }

    @Test func aPESOverTheSizeLimitIsDroppedAndCounted() throws {
        let bytes = try DemuxedStream.fixture("h264.ts")
        let stream = DemuxedStream.demux(bytes, limits: .init(maxPESSize: 1000))
        // Both keyframes (1445 and 1596 bytes of video) are over the limit, and with them go the
        // only SPS and PPS: the other 28 frames (at most 357 bytes) have no configuration.
        #expect(stream.statistics.pesDropped == 2)
        #expect(stream.statistics.framesDropped == 28)
        #expect(stream.tags.isEmpty)
        #expect(DemuxedStream.demux(bytes, limits: .init(maxPESSize: 1700)).videoFrames.count == 30)
    }

    @Test func framesBeforeTheFirstConfigurationAreDropped() throws {
        let packets = TSRemux.packets(try DemuxedStream.fixture("h264.ts"))
        // Without the first PES (the keyframe with SPS and PPS) no frame can be described.
        let firstVideo = try #require(packets.firstIndex { TSRemux.pid($0) == 0x100 })
        let second = try #require(packets.indices.first { index in
            index > firstVideo && TSRemux.pid(packets[index]) == 0x100
                && packets[index].getInteger(at: packets[index].readerIndex + 1, as: UInt8.self)! & 0x40 != 0
        })
        var stream = ByteBuffer()
        for (index, packet) in packets.enumerated() where index < firstVideo || index >= second {
            stream.writeImmutableBuffer(packet)
        }
        let demuxed = DemuxedStream.demux(stream)
        #expect(demuxed.video.first?.info.isSequenceHeader == true)
        #expect(demuxed.videoFrames.first?.info.isKeyframe == true)
        #expect(demuxed.videoFrames.count == 15)
        #expect(demuxed.statistics.framesDropped == 14)
    }
}
