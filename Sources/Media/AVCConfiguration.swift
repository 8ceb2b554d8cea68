import NIOCore

/// An AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1), as carried in an FLV AVC
/// sequence header, with what packaging needs from it: the parameter sets, the NAL length size,
/// the RFC 6381 codec string and the coded picture size from the first SPS.
public struct AVCConfiguration: Sendable, Hashable {
    /// The record exactly as received; it becomes the `avcC` box body.
    public var record: [UInt8]
    public var profile: UInt8
    public var compatibility: UInt8
    public var level: UInt8
    /// Bytes in each NAL unit's length prefix (1, 2 or 4).
    public var nalLengthSize: Int
    public var sequenceParameterSets: [[UInt8]]
    public var pictureParameterSets: [[UInt8]]
    public var width: Int
    public var height: Int

    public init(record bytes: ByteBuffer) throws {
        record = Array(bytes.readableBytesView)
        guard record.count >= 7, record[0] == 1 else { throw MediaFormatError(.malformed, "AVC configuration record") }
        profile = record[1]
        compatibility = record[2]
        level = record[3]
        nalLengthSize = Int(record[4] & 0x03) + 1
        var cursor = 5
        sequenceParameterSets = try Self.parameterSets(record, count: Int(record[5] & 0x1F), cursor: &cursor)
        guard cursor < record.count else { throw MediaFormatError(.truncated, "AVC configuration record") }
        pictureParameterSets = try Self.parameterSets(record, count: Int(record[cursor]), cursor: &cursor)
        guard let sps = sequenceParameterSets.first else { throw MediaFormatError(.malformed, "AVC record without SPS") }
        (width, height) = try Self.pictureSize(sps: sps)
    }

    /// `avc1.PPCCLL` (RFC 6381 §3.3).
    public var codecString: String {
        "avc1." + Hex.encode([profile, compatibility, level])
    }

    /// Reads `count` length-prefixed sets after the count byte at `cursor`.
    private static func parameterSets(_ record: [UInt8], count: Int, cursor: inout Int) throws -> [[UInt8]] {
        var sets: [[UInt8]] = []
        cursor += 1
        for _ in 0..<count {
            guard cursor + 2 <= record.count else { throw MediaFormatError(.truncated, "AVC parameter set length") }
            let length = Int(record[cursor]) << 8 | Int(record[cursor + 1])
            guard cursor + 2 + length <= record.count else { throw MediaFormatError(.truncated, "AVC parameter set") }
            sets.append(Array(record[(cursor + 2)..<(cursor + 2 + length)]))
            cursor += 2 + length
        }
        return sets
    }

    /// Width and height from an SPS (H.264 §7.3.2.1.1), cropping applied.
    static func pictureSize(sps: [UInt8]) throws -> (Int, Int) {
        var reader = NALBitReader(nal: sps.dropFirst())
        let profile = try reader.bits(8)
        try reader.skip(16)
        _ = try reader.unsignedGolomb()
        var chromaFormat = 1
        if [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].contains(profile) {
            chromaFormat = try reader.unsignedGolomb(atMost: 3, "chroma_format_idc")
            if chromaFormat == 3 { try reader.skip(1) }
            _ = try reader.unsignedGolomb()
            _ = try reader.unsignedGolomb()
            try reader.skip(1)
            if try reader.flag() {
                for list in 0..<(chromaFormat == 3 ? 12 : 8) where try reader.flag() {
                    try skipScalingList(&reader, size: list < 6 ? 16 : 64)
                }
            }
        }
        _ = try reader.unsignedGolomb()
        let pocType = try reader.unsignedGolomb()
        if pocType == 0 {
            _ = try reader.unsignedGolomb()
        } else if pocType == 1 {
            try reader.skip(1)
            _ = try reader.signedGolomb()
            _ = try reader.signedGolomb()
            let cycle = try reader.unsignedGolomb()
            guard cycle <= 255 else { throw MediaFormatError(.malformed, "SPS POC cycle") }
            for _ in 0..<cycle { _ = try reader.signedGolomb() }
        }
        _ = try reader.unsignedGolomb()
        try reader.skip(1)
        // Bounded so the largest picture is PictureSize.dimensions.upperBound (1024 × 16 samples).
        let macroblocks = PictureSize.dimensions.upperBound / 16
        let widthInMacroblocks = try reader.unsignedGolomb(atMost: macroblocks - 1, "pic_width_in_mbs_minus1") + 1
        let heightInMapUnits = try reader.unsignedGolomb(atMost: macroblocks - 1, "pic_height_in_map_units_minus1") + 1
        let frameMacroblocksOnly = try reader.flag()
        if !frameMacroblocksOnly { try reader.skip(1) }
        try reader.skip(1)
        var crop = (left: 0, right: 0, top: 0, bottom: 0)
        if try reader.flag() {
            let limit = PictureSize.dimensions.upperBound
            crop = (try reader.unsignedGolomb(atMost: limit, "frame_crop_left_offset"),
                    try reader.unsignedGolomb(atMost: limit, "frame_crop_right_offset"),
                    try reader.unsignedGolomb(atMost: limit, "frame_crop_top_offset"),
                    try reader.unsignedGolomb(atMost: limit, "frame_crop_bottom_offset"))
        }
        // Every term is bounded above, so this arithmetic cannot overflow (H.264 §7.4.2.1.1, (7-19)–(7-22)).
        let fieldFactor = frameMacroblocksOnly ? 1 : 2
        let unitX = chromaFormat == 0 || chromaFormat == 3 ? 1 : 2
        let unitY = (chromaFormat == 1 ? 2 : 1) * fieldFactor
        let width = widthInMacroblocks * 16 - (crop.left + crop.right) * unitX
        let height = fieldFactor * heightInMapUnits * 16 - (crop.top + crop.bottom) * unitY
        guard PictureSize.dimensions.contains(width), PictureSize.dimensions.contains(height) else {
            throw MediaFormatError(.malformed, "SPS picture size \(width)×\(height)")
        }
        return (width, height)
    }

    /// scaling_list() (H.264 §7.3.2.1.1.1); delta_scale is −128…127 (§7.4.2.1.1.1).
    private static func skipScalingList(_ reader: inout NALBitReader, size: Int) throws {
        var last: Int64 = 8
        var next: Int64 = 8
        for _ in 0..<size where next != 0 {
            let delta = try reader.signedGolomb()
            guard (-128...127).contains(delta) else { throw MediaFormatError(.malformed, "SPS delta_scale \(delta)") }
            next = (last + delta + 256) % 256
            last = next == 0 ? last : next
        }
    }
}

extension AVCConfiguration {
    /// An AVCDecoderConfigurationRecord for the given parameter sets, with 4-byte NAL lengths.
    public static func record(sequenceParameterSets: [[UInt8]], pictureParameterSets: [[UInt8]]) throws -> [UInt8] {
        guard let sps = sequenceParameterSets.first, sps.count >= 4 else {
            throw MediaFormatError(.malformed, "no SPS to build an AVC configuration from")
        }
        // The record counts SPSs in 5 bits, PPSs in 8, and each set's length in 16 (§5.3.3.1.2).
        guard sequenceParameterSets.count <= 31, pictureParameterSets.count <= 255,
              (sequenceParameterSets + pictureParameterSets).allSatisfy({ $0.count <= Int(UInt16.max) }) else {
            throw MediaFormatError(.tooLarge, "parameter sets do not fit an AVC configuration record")
        }
        var record: [UInt8] = [1, sps[1], sps[2], sps[3], 0xFF, 0xE0 | UInt8(sequenceParameterSets.count)]
        for set in sequenceParameterSets {
            record += [UInt8(set.count >> 8), UInt8(set.count & 0xFF)] + set
        }
        record.append(UInt8(pictureParameterSets.count))
        for set in pictureParameterSets {
            record += [UInt8(set.count >> 8), UInt8(set.count & 0xFF)] + set
        }
        return record
    }
}
