@testable import Media
import NIOCore
import Testing

/// Walks ISO BMFF boxes back into a tree, to check what the writer made by reading it.
struct BoxTree {
    var type: String
    var body: [UInt8]
    var children: [BoxTree]

    static let containers: Set<String> = ["moov", "trak", "mdia", "minf", "stbl", "dinf", "mvex", "moof", "traf"]

    static func parse(_ bytes: [UInt8]) throws -> [BoxTree] {
        var boxes: [BoxTree] = []
        var offset = 0
        while offset < bytes.count {
            guard offset + 8 <= bytes.count else { throw MediaFormatError(.truncated, "box header") }
            let size = Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            guard size >= 8, offset + size <= bytes.count else { throw MediaFormatError(.malformed, "box size of \(type)") }
            let body = Array(bytes[(offset + 8)..<(offset + size)])
            boxes.append(BoxTree(type: type, body: body, children: containers.contains(type) ? try parse(body) : []))
            offset += size
        }
        return boxes
    }

    func find(_ path: String) -> BoxTree? {
        var current: BoxTree? = self
        for type in path.split(separator: "/") { current = current?.children.first { $0.type == type } }
        return current
    }
}

@Suite struct FMP4WriterTests {
    @Test func initSegmentCarriesTheAVCRecordAndSize() throws {
        let config = try AVCConfiguration(record: ByteBuffer(bytes: Captured.avcRecord))
        let bytes = Array(FMP4InitSegment.write(CMAFTrack(codec: .avc(config))).readableBytesView)
        let boxes = try BoxTree.parse(bytes)
        #expect(boxes.map(\.type) == ["ftyp", "moov"])
        let moov = boxes[1]
        let stsd = try #require(moov.find("trak/mdia/minf/stbl/stsd"))
        // stsd: version/flags, entry count, then the avc1 entry (78 bytes of fields, then avcC).
        let entry = Array(stsd.body[8...])
        #expect(String(decoding: entry[4..<8], as: UTF8.self) == "avc1")
        #expect(Array(entry[32..<36]) == [0x02, 0x80, 0x01, 0x68], "640×360")
        #expect(String(decoding: entry[90..<94], as: UTF8.self) == "avcC")
        #expect(Array(entry[94...]) == Captured.avcRecord)
        #expect(moov.find("trak/mdia/hdlr").map { String(decoding: $0.body[8..<12], as: UTF8.self) } == "vide")
        #expect(moov.find("mvex/trex") != nil)
        let mdhd = try #require(moov.find("trak/mdia/mdhd"))
        #expect(Array(mdhd.body[12..<16]) == [0, 0x01, 0x5F, 0x90], "90 kHz")
    }

    @Test func audioInitSegmentCarriesTheAudioSpecificConfig() throws {
        let config = try AACConfiguration(bytes: ByteBuffer(bytes: Captured.audioSpecificConfig))
        let boxes = try BoxTree.parse(Array(FMP4InitSegment.write(CMAFTrack(codec: .aac(config))).readableBytesView))
        let stsd = try #require(boxes[1].find("trak/mdia/minf/stbl/stsd"))
        let entry = Array(stsd.body[8...])
        #expect(String(decoding: entry[4..<8], as: UTF8.self) == "mp4a")
        #expect(Array(entry[24..<26]) == [0, 1], "mono")
        #expect(Array(entry[32..<36]) == [0xAC, 0x44, 0, 0], "44100 Hz in 16.16")
        let esds = Array(entry[36...])
        #expect(String(decoding: esds[4..<8], as: UTF8.self) == "esds")
        #expect(esds.suffix(8).prefix(2) == [0x12, 0x08][...], "AudioSpecificConfig before the SL descriptor")
    }

    @Test func fragmentOffsetsPointAtTheSamples() throws {
        let samples = [
            FMP4Sample(duration: 3000, compositionOffset: 6000, isSync: true, data: ByteBuffer(bytes: [1, 2, 3])),
            FMP4Sample(duration: 3000, compositionOffset: -3000, isSync: false, data: ByteBuffer(bytes: [4, 5])),
        ]
        let bytes = Array(FMP4Fragment.write(sequenceNumber: 7, trackID: 1, baseDecodeTime: 1 << 40, samples: samples).readableBytesView)
        let boxes = try BoxTree.parse(bytes)
        #expect(boxes.map(\.type) == ["moof", "mdat"])
        #expect(boxes[1].body == [1, 2, 3, 4, 5])
        let tfdt = try #require(boxes[0].find("traf/tfdt"))
        #expect(tfdt.body == [1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0])
        let trun = try #require(boxes[0].find("traf/trun"))
        let dataOffset = Int(trun.body[8]) << 24 | Int(trun.body[9]) << 16 | Int(trun.body[10]) << 8 | Int(trun.body[11])
        #expect(Array(bytes[dataOffset..<(dataOffset + 5)]) == [1, 2, 3, 4, 5])
        // Second sample: duration 3000, size 2, non-sync flags, composition offset −3000.
        #expect(Array(trun.body[28..<44]) == [0, 0, 0x0B, 0xB8, 0, 0, 0, 2, 0x01, 0x01, 0, 0, 0xFF, 0xFF, 0xF4, 0x48])
    }
}

@Suite struct ProgressiveMP4Tests {
    /// Reads the top-level boxes: (type, offset, size), 64-bit sizes included.
    private func boxes(_ buffer: ByteBuffer) -> [(String, Int, UInt64)] {
        var found: [(String, Int, UInt64)] = []
        var offset = buffer.readerIndex
        while offset + 8 <= buffer.writerIndex, let size = buffer.getInteger(at: offset, as: UInt32.self),
              let type = buffer.getString(at: offset + 4, length: 4) {
            let full = size == 1 ? buffer.getInteger(at: offset + 8, as: UInt64.self) ?? 0 : UInt64(size)
            found.append((type, offset, full))
            guard full >= 8, offset + Int(min(full, UInt64(Int32.max))) <= buffer.writerIndex else { break }
            offset += Int(full)
        }
        return found
    }

    @Test func theIndexComesFirstWithSixtyFourBitOffsetsAndSize() throws {
        let record: [UInt8] = [1, 0x42, 0xC0, 0x1E, 0xFF, 0xE1, 0, 25, 0x67, 0x42, 0xC0, 0x1E, 0xDA, 0x02, 0x80, 0xBF, 0xE5, 0xC0, 0x44,
                               0x00, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xF0, 0x3C, 0x58, 0xBA, 0x80, 1, 0, 4, 0x68,
                               0xCE, 0x0F, 0xC8]
        let video = CMAFTrack(codec: .avc(try AVCConfiguration(record: ByteBuffer(bytes: record))), trackID: 1)
        let samples = (0..<4).map { RecordedSample(duration: 3000, size: 100, isSync: $0 == 0) }
        let track = RecordedTrack(track: video, samples: samples, payloadOffsets: [0, 100, 200, 300])
        let payload: UInt64 = 5_000_000_000  // past 4 GB
        let header = ProgressiveMP4.header(tracks: [track], payloadSize: payload)
        let top = boxes(header)
        #expect(top.map(\.0) == ["ftyp", "moov", "mdat"])
        let mdat = try #require(top.last)
        #expect(header.getInteger(at: mdat.1, as: UInt32.self) == 1, "64-bit box size")
        #expect(mdat.2 == 16 + payload)
        #expect(mdat.1 + 16 == header.writerIndex, "the header ends where the samples start")
        let text = String(decoding: header.readableBytesView, as: UTF8.self)
        #expect(text.contains("co64") && !text.contains("stco"))
        #expect(text.contains("stss"), "not every sample is a keyframe")
        // The chunk offsets point right after the header, in payload order.
        var co64 = try #require(header.readableBytesView.firstRange(of: Array("co64".utf8)).map { header.readerIndex + $0.lowerBound })
        co64 += 4 + 4 + 4  // type, version and flags, entry count
        let offsets = (0..<4).compactMap { header.getInteger(at: co64 + $0 * 8, as: UInt64.self) }
        #expect(offsets == [0, 100, 200, 300].map { UInt64(header.writerIndex) + $0 })
    }
}
