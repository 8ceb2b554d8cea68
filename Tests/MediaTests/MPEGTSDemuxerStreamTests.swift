@testable import Media
import NIOCore
import Testing

/// Writes demuxed tags back into a transport stream with Sluice's own `MPEGTSMuxer`, as the HLS
/// packager does: Annex B access units with the parameter sets before keyframes, ADTS frames.
enum TSRemux {
    static func mux(_ tags: [DemuxedTag], video: MPEGTSMuxer.VideoStream?, hasAudio: Bool, offset: Int64 = 0) throws -> ByteBuffer {
        var muxer = MPEGTSMuxer(video: video, hasAudio: hasAudio)
        var output = ByteBuffer()
        muxer.writeTables(into: &output)
        var parameterSets: [[UInt8]] = []
        var aac: AACConfiguration?
        // Decode order across streams, so the first PES written carries the first time.
        for tag in tags.enumerated().sorted(by: { ($0.element.dts, $0.offset) < ($1.element.dts, $1.offset) }).map(\.element) {
            if tag.type == .audio {
                let payload = tag.body.getSlice(at: tag.body.readerIndex + 2, length: tag.body.readableBytes - 2)!
                guard tag.body.getInteger(at: tag.body.readerIndex + 1, as: UInt8.self) == 1 else {
                    aac = try AACConfiguration(bytes: payload)
                    continue
                }
                var frame = ByteBuffer(bytes: try #require(aac).adtsHeader(payloadLength: payload.readableBytes))
                frame.writeImmutableBuffer(payload)
                muxer.writeAudio(frame, pts: tag.dts * 90 + offset, into: &output)
                continue
            }
            let info = try VideoTagInfo(body: tag.body)
            let data = tag.body.getSlice(at: tag.body.readerIndex + info.dataOffset, length: tag.body.readableBytes - info.dataOffset)!
            if info.isSequenceHeader {
                parameterSets = video == .h264
                    ? try AVCConfiguration(record: data).sequenceParameterSets + AVCConfiguration(record: data).pictureParameterSets
                    : try HEVCConfiguration(record: data).parameterSets
                continue
            }
            let unit = try AnnexB.accessUnit(data, lengthSize: 4, codec: video == .h264 ? .h264 : .hevc,
                                             parameterSets: info.isKeyframe ? parameterSets : [])
            let dts = tag.dts * 90 + offset
            muxer.writeVideo(unit, pts: dts + Int64(info.compositionTime) * 90, dts: dts, isKeyframe: info.isKeyframe, into: &output)
        }
        return output
    }

    /// The 188-byte packets of a stream.
    static func packets(_ stream: ByteBuffer) -> [ByteBuffer] {
        stride(from: 0, to: stream.readableBytes, by: 188).map { stream.getSlice(at: stream.readerIndex + $0, length: 188)! }
    }

    static func pid(_ packet: ByteBuffer) -> UInt16 {
        UInt16(packet.getInteger(at: packet.readerIndex + 1, as: UInt8.self)! & 0x1F) << 8
            | UInt16(packet.getInteger(at: packet.readerIndex + 2, as: UInt8.self)!)
    }

    /// A PAT or PMT packet: `body` is the section after `section_length`, up to the CRC.
    static func table(pid: UInt16, tableID: UInt8, body: [UInt8], continuity: UInt8) -> ByteBuffer {
        let length = body.count + 4
        var section: [UInt8] = [tableID, 0xB0 | UInt8(length >> 8), UInt8(length & 0xFF)] + body
        let crc = CRC32MPEG2.checksum(section)
        section += [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
        var packet: [UInt8] = [0x47, 0x40 | UInt8(pid >> 8), UInt8(pid & 0xFF), 0x10 | continuity, 0] + section
        packet += Array(repeating: 0xFF, count: 188 - packet.count)
        return ByteBuffer(bytes: packet)
    }

    /// A PMT of program 1 (PID 0x1000) with this version and these (stream type, PID, ES info) entries.
    static func pmt(version: UInt8, streams: [(UInt8, UInt16, [UInt8])], continuity: UInt8) -> ByteBuffer {
        var body: [UInt8] = [0x00, 0x01, 0xC1 | version << 1, 0x00, 0x00, 0xE1, 0x00, 0xF0, 0x00]
        for (type, pid, info) in streams {
            body += [type, 0xE0 | UInt8(pid >> 8), UInt8(pid & 0xFF), 0xF0 | UInt8(info.count >> 8), UInt8(info.count & 0xFF)] + info
        }
        return table(pid: 0x1000, tableID: 0x02, body: body, continuity: continuity)
    }
}

/// The demuxer against Sluice's own muxer, and the stream events a transport stream over a
/// network brings: timestamps wrapping at 33 bits, lost packets, new PMT versions.
@Suite struct MPEGTSDemuxerStreamTests {
    @Test(arguments: [("h264-aac.ts", MPEGTSMuxer.VideoStream.h264), ("hevc.ts", .hevc)])
    func muxerRoundTripGivesTheSameTags(fixture: String, video: MPEGTSMuxer.VideoStream) throws {
        let original = DemuxedStream.demux(try DemuxedStream.fixture(fixture))
        let hasAudio = !original.audio.isEmpty
        let again = DemuxedStream.demux(try TSRemux.mux(original.tags, video: video, hasAudio: hasAudio))
        #expect(again.video.count == original.video.count)
        #expect(again.tags.filter { $0.type == .video } == original.tags.filter { $0.type == .video })
        #expect(again.audio == original.audio)
        #expect(again.statistics.pesDropped == 0 && again.statistics.continuityErrors == 0)
    }

    @Test func newParameterSetsSendANewSequenceHeaderBeforeTheirFirstFrame() throws {
        let first = DemuxedStream.demux(try DemuxedStream.fixture("h264.ts")).tags
        // Another encoder's settings (B-frames) from 1 s on: another SPS.
        let second = DemuxedStream.demux(try DemuxedStream.fixture("h264-aac.ts")).tags.filter { $0.type == .video }
            .map { DemuxedTag(type: .video, dts: $0.dts + 1000, body: $0.body) }
        let stream = DemuxedStream.demux(try TSRemux.mux(first + second, video: .h264, hasAudio: false))
        let headers = stream.video.enumerated().filter { $0.element.info.isSequenceHeader }
        #expect(headers.count == 2)
        #expect(headers.map(\.offset) == [0, 31])
        #expect(headers.first?.element.data != headers.last?.element.data)
        #expect(headers.last?.element.dts == 1000)
        #expect(stream.videoFrames.count == 90)
        #expect(stream.tags == first + second)
    }

    @Test func timestampsWrappingAt33BitsStayOnOneLine() throws {
        let original = DemuxedStream.demux(try DemuxedStream.fixture("h264-aac.ts"))
        // The first PES is 0.9 s before the 33-bit wrap: every later one crosses it.
        let offset = (Int64(1) << 33) - 81_000
        let wrapped = DemuxedStream.demux(try TSRemux.mux(original.tags, video: .h264, hasAudio: true, offset: offset))
        #expect(wrapped.tags.filter { $0.type == .video } == original.tags.filter { $0.type == .video })
        #expect(wrapped.audio == original.audio)
        #expect(wrapped.videoFrames.last?.dts == 1966)
    }

    @Test func clockUnwrapsBothWaysAcrossTheWrap() {
        var clock = MPEGTSClock()
        let wrap = Int64(1) << 33
        #expect(clock.unwrap(UInt64(wrap - 900)) == wrap - 900)
        #expect(clock.unwrap(900) == wrap + 900)
        #expect(clock.unwrap(UInt64(wrap - 1800)) == wrap - 1800)  // a B-frame's earlier PTS
        #expect(clock.unwrap(UInt64(wrap) + 1800) == wrap + 1800)  // bits above 33 are not a time
        #expect(clock.milliseconds(wrap + 1800) == 30)
        #expect(clock.milliseconds(wrap - 1800) == 0)  // before the origin: time 0
    }

    @Test func aContinuityGapDropsTheDamagedFrameAndDemuxingGoesOn() throws {
        let packets = TSRemux.packets(try DemuxedStream.fixture("h264-aac.ts"))
        let videoPID = try #require(packets.lazy.map(TSRemux.pid).first { $0 == 0x100 })
        let video = packets.indices.filter { TSRemux.pid(packets[$0]) == videoPID }
        let lost = Set(video[100..<103])
        var damaged = ByteBuffer()
        for (index, packet) in packets.enumerated() where !lost.contains(index) { damaged.writeImmutableBuffer(packet) }
        let stream = DemuxedStream.demux(damaged)
        #expect(stream.statistics.continuityErrors == 1)
        #expect(stream.statistics.pesDropped == 1)
        #expect((57...59).contains(stream.videoFrames.count))
        #expect(stream.videoFrames.last?.dts == 1966)
        let times = stream.videoFrames.map(\.dts)
        #expect(times == times.sorted())
        #expect(stream.audioFrames.count == 88)
    }

    @Test func aNewPMTVersionAddsAStreamAndOpusIsCountedAsUnsupported() throws {
        let original = DemuxedStream.demux(try DemuxedStream.fixture("h264-aac.ts"))
        let muxed = TSRemux.packets(try TSRemux.mux(original.tags, video: .h264, hasAudio: true))
        let media = muxed.filter { TSRemux.pid($0) >= 0x100 && TSRemux.pid($0) < 0x1000 }
        let pat = TSRemux.table(pid: 0, tableID: 0x00, body: [0x00, 0x01, 0xC1, 0x00, 0x00, 0x00, 0x01, 0xF0, 0x00], continuity: 0)
        let opus: [UInt8] = [0x05, 0x04] + Array("Opus".utf8)
        var stream = ByteBuffer()
        stream.writeImmutableBuffer(pat)
        stream.writeImmutableBuffer(TSRemux.pmt(version: 0, streams: [(0x1B, 0x100, [])], continuity: 0))
        for packet in media[..<(media.count / 2)] { stream.writeImmutableBuffer(packet) }
        let streams: [(UInt8, UInt16, [UInt8])] = [(0x1B, 0x100, []), (0x0F, 0x101, []), (0x06, 0x102, opus)]
        stream.writeImmutableBuffer(TSRemux.pmt(version: 1, streams: streams, continuity: 1))
        stream.writeImmutableBuffer(TSRemux.pmt(version: 1, streams: streams, continuity: 2))  // repeated: read once
        for packet in media[(media.count / 2)...] { stream.writeImmutableBuffer(packet) }
        let demuxed = DemuxedStream.demux(stream)
        #expect(demuxed.statistics.unsupportedStreams == 1)
        #expect(demuxed.videoFrames.count == 60)
        #expect((try? AudioTagInfo(body: try #require(demuxed.audio.first).body))?.isSequenceHeader == true)
        #expect(demuxed.audioFrames.count > 20 && demuxed.audioFrames.count < 88)
        #expect(demuxed.statistics.tablesDropped == 0)
    }

    @Test func aBadChecksumRefusesTheTable() throws {
        var pat = Array(TSRemux.table(pid: 0, tableID: 0x00, body: [0x00, 0x01, 0xC1, 0x00, 0x00, 0x00, 0x01, 0xF0, 0x00],
                                      continuity: 0).readableBytesView)
        pat[10] ^= 0x01
        var demuxer = MPEGTSDemuxer()
        _ = demuxer.feed(ByteBuffer(bytes: pat))
        #expect(demuxer.statistics.tablesDropped == 1)
        #expect(demuxer.tables.pmtPID == nil)
    }
}
