@testable import Media
import NIOCore
import Testing

/// Reads transport stream packets back: sync bytes, continuity counters, PSI checksums and the
/// PES payloads, so the muxer is checked by parsing what it wrote.
struct TransportStreamReader {
    struct PES {
        var pid: UInt16
        var pts: Int64
        var dts: Int64
        var payload: [UInt8]
        var randomAccess: Bool
        var pcr: Int64?
    }

    var tables: [UInt16: [UInt8]] = [:]
    var pes: [PES] = []

    init(_ stream: ByteBuffer) throws {
        let bytes = Array(stream.readableBytesView)
        guard bytes.count % 188 == 0 else { throw MediaFormatError(.malformed, "not whole packets") }
        var counters: [UInt16: UInt8] = [:]
        var open: [UInt16: (PES, [UInt8])] = [:]
        for start in stride(from: 0, to: bytes.count, by: 188) {
            let packet = Array(bytes[start..<(start + 188)])
            guard packet[0] == 0x47 else { throw MediaFormatError(.malformed, "sync byte") }
            let pid = UInt16(packet[1] & 0x1F) << 8 | UInt16(packet[2])
            let unitStart = packet[1] & 0x40 != 0
            let control = packet[3] >> 4 & 0x3
            let counter = packet[3] & 0x0F
            if let previous = counters[pid], (previous + 1) & 0x0F != counter {
                throw MediaFormatError(.malformed, "continuity on \(pid)")
            }
            counters[pid] = counter
            var offset = 4
            var randomAccess = false
            var pcr: Int64?
            if control & 0x2 != 0 {
                let length = Int(packet[4])
                if length > 0 {
                    randomAccess = packet[5] & 0x40 != 0
                    if packet[5] & 0x10 != 0 {
                        pcr = Int64(packet[6]) << 25 | Int64(packet[7]) << 17 | Int64(packet[8]) << 9 | Int64(packet[9]) << 1
                            | Int64(packet[10] >> 7)
                    }
                }
                offset += 1 + length
            }
            let payload = Array(packet[offset...])
            if pid == 0 || pid == MPEGTSMuxer.pmtPID {
                let section = Array(payload.dropFirst(1 + Int(payload[0])))
                let length = Int(section[1] & 0x0F) << 8 | Int(section[2])
                let whole = Array(section[0..<(3 + length)])
                guard CRC32MPEG2.checksum(whole) == 0 else { throw MediaFormatError(.malformed, "PSI CRC") }
                tables[pid] = whole
                continue
            }
            if unitStart {
                if let (done, data) = open[pid] { pes.append(Self.finish(done, data)) }
                let headerLength = Int(payload[8])
                let flags = payload[7]
                let pts = Self.timestamp(Array(payload[9..<14]))
                let dts = flags & 0x40 != 0 ? Self.timestamp(Array(payload[14..<19])) : pts
                open[pid] = (PES(pid: pid, pts: pts, dts: dts, payload: [], randomAccess: randomAccess, pcr: pcr),
                             Array(payload[(9 + headerLength)...]))
            } else {
                open[pid]?.1 += payload
            }
        }
        for (_, (done, data)) in open.sorted(by: { $0.key < $1.key }) { pes.append(Self.finish(done, data)) }
    }

    private static func finish(_ pes: PES, _ data: [UInt8]) -> PES {
        var finished = pes
        finished.payload = data
        return finished
    }

    private static func timestamp(_ bytes: [UInt8]) -> Int64 {
        Int64(bytes[0] >> 1 & 0x07) << 30 | Int64(bytes[1]) << 22 | Int64(bytes[2] >> 1) << 15 | Int64(bytes[3]) << 7
            | Int64(bytes[4] >> 1)
    }
}

@Suite struct MPEGTSMuxerTests {
    @Test func tablesNameEveryStreamWithValidChecksums() throws {
        var muxer = MPEGTSMuxer(video: .h264, hasAudio: true)
        var buffer = ByteBuffer()
        muxer.writeTables(into: &buffer)
        let reader = try TransportStreamReader(buffer)
        #expect(reader.tables[0] == [0x00, 0xB0, 0x0D, 0x00, 0x01, 0xC1, 0x00, 0x00, 0x00, 0x01, 0xF0, 0x00, 0x2A, 0xB1, 0x04, 0xB2])
        let pmt = try #require(reader.tables[MPEGTSMuxer.pmtPID])
        // PCR on the video PID; H.264 (0x1B) on 0x100 and AAC/ADTS (0x0F) on 0x101.
        #expect(Array(pmt[8...9]) == [0xE1, 0x00])
        #expect(Array(pmt[12...16]) == [0x1B, 0xE1, 0x00, 0xF0, 0x00])
        #expect(Array(pmt[17...21]) == [0x0F, 0xE1, 0x01, 0xF0, 0x00])
    }

    @Test(arguments: [1, 170, 171, 183, 184, 185, 1000, 70_000])
    func pesPayloadsRoundTripAtEverySize(size: Int) throws {
        var muxer = MPEGTSMuxer(video: .h264, hasAudio: true)
        var buffer = ByteBuffer()
        muxer.writeTables(into: &buffer)
        let video = (0..<size).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let audio = (0..<(size % 300 + 1)).map { UInt8(truncatingIfNeeded: $0 * 3) }
        muxer.writeVideo(ByteBuffer(bytes: video), pts: 9_000 + 3_000, dts: 9_000, isKeyframe: true, into: &buffer)
        muxer.writeAudio(ByteBuffer(bytes: audio), pts: 9_100, into: &buffer)
        muxer.writeVideo(ByteBuffer(bytes: video.reversed()), pts: 12_000, dts: 12_000, isKeyframe: false, into: &buffer)
        let reader = try TransportStreamReader(buffer)
        #expect(reader.pes.count == 3)
        let videos = reader.pes.filter { $0.pid == MPEGTSMuxer.videoPID }
        #expect(videos.map(\.payload) == [video, video.reversed()])
        #expect(videos.map(\.pts) == [12_000, 12_000] && videos.map(\.dts) == [9_000, 12_000])
        #expect(videos.map(\.randomAccess) == [true, false])
        #expect(videos.map(\.pcr) == [9_000, 12_000])
        let sound = try #require(reader.pes.first { $0.pid == MPEGTSMuxer.audioPID })
        #expect(sound.payload == audio && sound.pts == 9_100 && sound.pcr == nil)
    }

    @Test func timestampsWrapAt33Bits() throws {
        var muxer = MPEGTSMuxer(video: nil, hasAudio: true)
        var buffer = ByteBuffer()
        muxer.writeAudio(ByteBuffer(bytes: [1, 2, 3]), pts: (1 << 33) + 5, into: &buffer)
        let reader = try TransportStreamReader(buffer)
        #expect(reader.pes.first?.pts == 5)
        #expect(reader.pes.first?.pcr == 5, "audio carries the PCR without video")
    }
}
