@testable import Media
import NIOCore
import TestSupport
import Testing

/// Writes RBSP bits MSB first, with Exp-Golomb codes (H.264 §9.1), and escapes the result with
/// emulation-prevention bytes, so tests can state a parameter set field by field.
struct BitWriter {
    private(set) var bits: [Bool] = []

    mutating func bits(_ value: UInt64, _ count: Int) {
        for shift in stride(from: count - 1, through: 0, by: -1) { bits.append(value >> UInt64(shift) & 1 == 1) }
    }

    mutating func flag(_ value: Bool) { bits.append(value) }

    /// ue(v) for codeNum `value` (at most 2³² − 2).
    mutating func ue(_ value: UInt64) {
        let code = value + 1
        let length = 64 - code.leadingZeroBitCount
        bits(0, length - 1)
        bits(code, length)
    }

    /// The RBSP with its stop bit, emulation prevention applied, behind `header`.
    func nal(header: [UInt8]) -> [UInt8] {
        var all = bits + [true]
        while all.count % 8 != 0 { all.append(false) }
        var output = header
        var zeros = 0
        for start in stride(from: 0, to: all.count, by: 8) {
            let byte = all[start..<start + 8].reduce(UInt8(0)) { $0 << 1 | ($1 ? 1 : 0) }
            if zeros >= 2, byte <= 3 {
                output.append(3)
                zeros = 0
            }
            zeros = byte == 0 ? zeros + 1 : 0
            output.append(byte)
        }
        return output
    }
}

/// Codec configuration records and SPSs a hostile publisher might send: every field that feeds
/// arithmetic is bounded, so they throw `MediaFormatError` instead of trapping or producing
/// sizes later code cannot hold (`UInt32(width)` in `tkhd`).
@Suite struct HostileCodecConfigurationTests {
    static let huge: UInt64 = 0xFFFF_FFFE  // the largest ue(v) a 32-bit reader accepts
    static let hugeOdd: UInt64 = 0xFFFF_FFFD  // se(v) +2³¹ − 1

    /// A baseline (or, with `scaling`, High) profile SPS NAL unit.
    static func avcSPS(widthInMbsMinus1: UInt64, heightInMapUnitsMinus1: UInt64, crop: [UInt64]? = nil,
                       scaling deltaScale: UInt64? = nil) -> [UInt8] {
        var writer = BitWriter()
        writer.bits(deltaScale == nil ? 66 : 100, 8)
        writer.bits(0, 8)
        writer.bits(30, 8)
        writer.ue(0)  // seq_parameter_set_id
        if let deltaScale {
            writer.ue(1)  // chroma_format_idc
            writer.ue(0)
            writer.ue(0)
            writer.flag(false)
            writer.flag(true)  // seq_scaling_matrix_present_flag
            writer.flag(true)  // list 0 present
            writer.ue(deltaScale)
            for _ in 1..<8 { writer.flag(false) }
        }
        writer.ue(0)  // log2_max_frame_num_minus4
        writer.ue(2)  // pic_order_cnt_type
        writer.ue(1)  // max_num_ref_frames
        writer.flag(false)
        writer.ue(widthInMbsMinus1)
        writer.ue(heightInMapUnitsMinus1)
        writer.flag(true)  // frame_mbs_only_flag
        writer.flag(true)
        writer.flag(crop != nil)
        for offset in crop ?? [] { writer.ue(offset) }
        writer.flag(false)  // vui_parameters_present_flag
        return writer.nal(header: [0x67])
    }

    static func avcRecord(sps: [UInt8]) -> ByteBuffer {
        let pps: [UInt8] = [0x68, 0xCE, 0x0F, 0xC8]
        return ByteBuffer(bytes: [1, sps[1], sps[2], sps[3], 0xFF, 0xE1, UInt8(sps.count >> 8), UInt8(sps.count & 0xFF)]
            + sps + [1, 0, UInt8(pps.count)] + pps)
    }

    static func hevcSPS(width: UInt64, height: UInt64, window: [UInt64]? = nil) -> [UInt8] {
        var writer = BitWriter()
        writer.bits(0, 4)  // sps_video_parameter_set_id
        writer.bits(0, 3)  // sps_max_sub_layers_minus1
        writer.flag(true)
        writer.bits(0x01_6000_0000, 40)  // Main profile, compatibility flag 1 and 2
        writer.bits(0, 48)
        writer.bits(93, 8)  // level 3.1
        writer.ue(0)  // sps_seq_parameter_set_id
        writer.ue(1)  // chroma_format_idc
        writer.ue(width)
        writer.ue(height)
        writer.flag(window != nil)
        for offset in window ?? [] { writer.ue(offset) }
        return writer.nal(header: [0x42, 0x01])
    }

    static func hevcRecord(sps: [UInt8]) -> ByteBuffer {
        var record: [UInt8] = [1, 0x01, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 93, 0xF0, 0, 0xFC, 0xFD, 0xF8, 0xF8, 0, 0, 0x0F]
        record += [1, 0xA1, 0, 1, UInt8(sps.count >> 8), UInt8(sps.count & 0xFF)] + sps
        return ByteBuffer(bytes: record)
    }

    @Test func wellFormedSPSsStillGiveTheirSize() throws {
        let avc = try AVCConfiguration(record: Self.avcRecord(sps: Self.avcSPS(widthInMbsMinus1: 119, heightInMapUnitsMinus1: 67,
                                                                                 crop: [0, 0, 0, 4])))
        #expect(avc.width == 1920 && avc.height == 1080)
        let scaled = try AVCConfiguration(record: Self.avcRecord(sps: Self.avcSPS(widthInMbsMinus1: 39, heightInMapUnitsMinus1: 22,
                                                                                    scaling: 16)))  // delta −8 ends the list
        #expect(scaled.width == 640 && scaled.height == 368)
        let largest = try AVCConfiguration(record: Self.avcRecord(sps: Self.avcSPS(widthInMbsMinus1: 1023, heightInMapUnitsMinus1: 1023)))
        #expect(largest.width == 16384 && largest.height == 16384)
        let hevc = try HEVCConfiguration(record: Self.hevcRecord(sps: Self.hevcSPS(width: 1920, height: 1088, window: [0, 0, 0, 4])))
        #expect(hevc.width == 1920 && hevc.height == 1080)
    }

    /// Regressions: each of these once trapped (HEVC's window sum in UInt32, AVC's scaling list
    /// in Int32) or returned a size that traps later (`UInt32(width)`, 68 billion pixels wide).
    @Test(arguments: [
        ("AVC width 2³² macroblocks", avcSPS(widthInMbsMinus1: huge, heightInMapUnitsMinus1: 67), false),
        ("AVC width 1025 macroblocks", avcSPS(widthInMbsMinus1: 1024, heightInMapUnitsMinus1: 67), false),
        ("AVC height 2³² map units", avcSPS(widthInMbsMinus1: 119, heightInMapUnitsMinus1: huge), false),
        ("AVC crop 2³²", avcSPS(widthInMbsMinus1: 119, heightInMapUnitsMinus1: 67, crop: [huge, huge, huge, huge]), false),
        ("AVC crop past the picture", avcSPS(widthInMbsMinus1: 0, heightInMapUnitsMinus1: 0, crop: [8, 0, 0, 0]), false),
        ("AVC delta_scale 2³¹ − 1", avcSPS(widthInMbsMinus1: 119, heightInMapUnitsMinus1: 67, scaling: hugeOdd), false),
        ("AVC delta_scale −(2³¹ − 1)", avcSPS(widthInMbsMinus1: 119, heightInMapUnitsMinus1: 67, scaling: huge), false),
        ("HEVC width 2³²", hevcSPS(width: huge, height: 1080), true),
        ("HEVC width 16385", hevcSPS(width: 16385, height: 1080), true),
        ("HEVC window 2³² + 2³²", hevcSPS(width: 1920, height: 1080, window: [huge, huge, huge, huge]), true),
        ("HEVC window past the picture", hevcSPS(width: 64, height: 64, window: [40, 0, 0, 0]), true),
    ])
    func hostileSPSThrows(name: String, sps: [UInt8], hevc: Bool) {
        #expect(throws: MediaFormatError.self, "\(name)") {
            if hevc {
                _ = try HEVCConfiguration(record: Self.hevcRecord(sps: sps))
            } else {
                _ = try AVCConfiguration(record: Self.avcRecord(sps: sps))
            }
        }
    }

    /// Seeded bit flips and truncations of valid records: each throws, or decodes to a size
    /// inside `PictureSize.dimensions`; nothing traps.
    @Test func mutatedRecordsThrowOrDecode() {
        var generator = SeededGenerator(seed: 0x5B5)
        let avc = Array(Self.avcRecord(sps: Self.avcSPS(widthInMbsMinus1: 119, heightInMapUnitsMinus1: 67, crop: [0, 0, 0, 4],
                                                        scaling: 16)).readableBytesView)
        let hevc = Array(Self.hevcRecord(sps: Self.hevcSPS(width: 1920, height: 1088, window: [0, 0, 0, 4])).readableBytesView)
        let aac: [UInt8] = [0x12, 0x08, 0x56, 0xE5]
        for _ in 0..<3000 {
            var bytes = [avc, hevc, aac].randomElement(using: &generator)!
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                bytes[index] ^= 1 << UInt8.random(in: 0...7, using: &generator)
            }
            bytes = Array(bytes.prefix(Int.random(in: bytes.count / 2...bytes.count, using: &generator)))
            let buffer = ByteBuffer(bytes: bytes)
            if let config = try? AVCConfiguration(record: buffer) {
                #expect(PictureSize.dimensions.contains(config.width) && PictureSize.dimensions.contains(config.height))
            }
            if let config = try? HEVCConfiguration(record: buffer) {
                #expect(PictureSize.dimensions.contains(config.width) && PictureSize.dimensions.contains(config.height))
            }
            _ = try? AACConfiguration(bytes: buffer)
        }
    }

    /// Exp-Golomb values across their whole range read back exactly; se(v) needs 64 bits at the ends.
    @Test func expGolombCoversItsRange() throws {
        var writer = BitWriter()
        let values: [UInt64] = [0, 1, 2, 254, 255, 65_535, 0x7FFF_FFFF, 0xFFFF_FFFD, 0xFFFF_FFFE]
        for value in values { writer.ue(value) }
        for value in values { writer.ue(value) }
        var reader = NALBitReader(nal: writer.nal(header: []))
        for value in values { #expect(UInt64(try reader.unsignedGolomb()) == value) }
        let signed = try values.map { _ in try reader.signedGolomb() }
        #expect(signed == [0, 1, -1, -127, 128, 32_768, 1 << 30, (1 << 31) - 1, -((1 << 31) - 1)])
    }

    @Test func recordBuildersRefuseWhatTheRecordCannotCount() {
        let sps = Self.avcSPS(widthInMbsMinus1: 119, heightInMapUnitsMinus1: 67)
        #expect(throws: MediaFormatError.self) {
            try AVCConfiguration.record(sequenceParameterSets: Array(repeating: sps, count: 32), pictureParameterSets: [])
        }
        #expect(throws: MediaFormatError.self) {
            try AVCConfiguration.record(sequenceParameterSets: [sps + [UInt8](repeating: 0, count: 70_000)], pictureParameterSets: [])
        }
        let hevc = Self.hevcSPS(width: 1920, height: 1080)
        #expect(throws: MediaFormatError.self) {
            try HEVCConfiguration.record(videoParameterSets: [], sequenceParameterSets: [hevc], pictureParameterSets: [], bitDepth: 7)
        }
        #expect(throws: Never.self) {
            try AVCConfiguration.record(sequenceParameterSets: [sps], pictureParameterSets: [[0x68, 0xCE]])
        }
    }
}
