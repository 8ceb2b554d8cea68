import NIOCore

/// An HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1): the parameter sets, the NAL
/// length size, the RFC 6381 codec string and the picture size from the SPS.
public struct HEVCConfiguration: Sendable, Hashable {
    /// The record exactly as received; it becomes the `hvcC` box body.
    public var record: [UInt8]
    public var nalLengthSize: Int
    /// VPS, SPS and PPS NAL units, in record order.
    public var parameterSets: [[UInt8]]
    public var codecString: String
    public var width: Int
    public var height: Int

    public init(record bytes: ByteBuffer) throws {
        record = Array(bytes.readableBytesView)
        guard record.count >= 23, record[0] == 1 else { throw MediaFormatError(.malformed, "HEVC configuration record") }
        nalLengthSize = Int(record[21] & 0x03) + 1
        parameterSets = try Self.arrays(record)
        codecString = Self.codecString(record)
        guard let sps = parameterSets.first(where: { ($0.first ?? 0) >> 1 & 0x3F == 33 }) else {
            throw MediaFormatError(.malformed, "HEVC record without SPS")
        }
        (width, height) = try Self.pictureSize(sps: sps)
    }

    private static func arrays(_ record: [UInt8]) throws -> [[UInt8]] {
        var sets: [[UInt8]] = []
        var cursor = 23
        for _ in 0..<record[22] {
            guard cursor + 3 <= record.count else { throw MediaFormatError(.truncated, "HEVC NAL array") }
            let count = Int(record[cursor + 1]) << 8 | Int(record[cursor + 2])
            cursor += 3
            for _ in 0..<count {
                guard cursor + 2 <= record.count else { throw MediaFormatError(.truncated, "HEVC NAL length") }
                let length = Int(record[cursor]) << 8 | Int(record[cursor + 1])
                guard cursor + 2 + length <= record.count else { throw MediaFormatError(.truncated, "HEVC NAL unit") }
                sets.append(Array(record[(cursor + 2)..<(cursor + 2 + length)]))
                cursor += 2 + length
            }
        }
        return sets
    }

    /// `hvc1.[A-C]P.C.TL.B…` (ISO/IEC 14496-15 Annex E.3).
    private static func codecString(_ record: [UInt8]) -> String {
        let space = ["", "A", "B", "C"][Int(record[1] >> 6)]
        let tier = record[1] & 0x20 != 0 ? "H" : "L"
        let compatibility = record[2...5].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        var reversed: UInt32 = 0
        for bit in 0..<32 where compatibility & (1 << bit) != 0 { reversed |= 1 << (31 - bit) }
        var constraints = Array(record[6...11])
        while constraints.last == 0 { constraints.removeLast() }
        let fields = ["hvc1", "\(space)\(record[1] & 0x1F)", String(reversed, radix: 16, uppercase: true),
                      "\(tier)\(record[12])"] + constraints.map { String($0, radix: 16, uppercase: true) }
        return fields.joined(separator: ".")
    }

    /// Width and height from an SPS (H.265 §7.3.2.2), conformance window applied.
    static func pictureSize(sps: [UInt8]) throws -> (Int, Int) {
        var reader = NALBitReader(nal: sps.dropFirst(2))
        try reader.skip(4)
        let subLayers = Int(try reader.bits(3))
        try reader.skip(1 + 96)
        var profilePresent: [Bool] = []
        var levelPresent: [Bool] = []
        for _ in 0..<subLayers {
            profilePresent.append(try reader.flag())
            levelPresent.append(try reader.flag())
        }
        if subLayers > 0 { try reader.skip(2 * (8 - subLayers)) }
        for layer in 0..<subLayers {
            if profilePresent[layer] { try reader.skip(88) }
            if levelPresent[layer] { try reader.skip(8) }
        }
        _ = try reader.unsignedGolomb()
        let chromaFormat = try reader.unsignedGolomb(atMost: 3, "chroma_format_idc")
        if chromaFormat == 3 { try reader.skip(1) }
        let limit = PictureSize.dimensions.upperBound
        var width = try reader.unsignedGolomb(atMost: limit, "pic_width_in_luma_samples")
        var height = try reader.unsignedGolomb(atMost: limit, "pic_height_in_luma_samples")
        if try reader.flag() {
            // Each offset is bounded above, so neither the sums nor the products can overflow
            // (H.265 §7.4.3.2.1, conf_win_*_offset and SubWidthC/SubHeightC of Table 6-1).
            let unitX = chromaFormat == 1 || chromaFormat == 2 ? 2 : 1
            let unitY = chromaFormat == 1 ? 2 : 1
            width -= unitX * (try reader.unsignedGolomb(atMost: limit, "conf_win_left_offset")
                + reader.unsignedGolomb(atMost: limit, "conf_win_right_offset"))
            height -= unitY * (try reader.unsignedGolomb(atMost: limit, "conf_win_top_offset")
                + reader.unsignedGolomb(atMost: limit, "conf_win_bottom_offset"))
        }
        guard PictureSize.dimensions.contains(width), PictureSize.dimensions.contains(height) else {
            throw MediaFormatError(.malformed, "HEVC SPS picture size \(width)×\(height)")
        }
        return (width, height)
    }
}

extension HEVCConfiguration {
    /// An HEVCDecoderConfigurationRecord for the given VPS, SPS and PPS NAL units, with 4-byte
    /// NAL lengths. The profile, tier and level come from the SPS; chroma format and bit depth
    /// are the caller's (what its encoder was set to), so the SPS needs no further parsing.
    public static func record(videoParameterSets: [[UInt8]], sequenceParameterSets: [[UInt8]], pictureParameterSets: [[UInt8]],
                              chromaFormat: UInt8 = 1, bitDepth: UInt8 = 8) throws -> [UInt8] {
        guard let sps = sequenceParameterSets.first else { throw MediaFormatError(.malformed, "no SPS to build an HEVC configuration from") }
        // Arrays count units in 16 bits and each unit's length in 16, bit depth − 8 in 3 bits (§8.3.3.1.2).
        let sets = [videoParameterSets, sequenceParameterSets, pictureParameterSets]
        guard sets.allSatisfy({ $0.count <= Int(UInt16.max) && $0.allSatisfy { $0.count <= Int(UInt16.max) } }),
              (8...15).contains(bitDepth) else {
            throw MediaFormatError(.tooLarge, "parameter sets or bit depth do not fit an HEVC configuration record")
        }
        // NAL header (2 bytes), then vps id / max sub-layers / nesting (1 byte), then the 12 bytes
        // of general profile_tier_level (§7.3.3), read from the RBSP.
        let rbsp = removingEmulationPrevention(sps.prefix(40))
        guard rbsp.count >= 15 else { throw MediaFormatError(.truncated, "HEVC SPS profile_tier_level") }
        let subLayers = (rbsp[2] >> 1) & 0x07
        let nested = rbsp[2] & 0x01
        var record: [UInt8] = [1] + rbsp[3..<15]
        record += [0xF0, 0x00, 0xFC, 0xFC | (chromaFormat & 0x03), 0xF8 | ((bitDepth - 8) & 0x07), 0xF8 | ((bitDepth - 8) & 0x07)]
        record += [0, 0, ((subLayers + 1) << 3) | (nested << 2) | 0x03]
        let arrays: [(UInt8, [[UInt8]])] = [(32, videoParameterSets), (33, sequenceParameterSets), (34, pictureParameterSets)]
        record.append(UInt8(arrays.filter { !$0.1.isEmpty }.count))
        for (type, units) in arrays where !units.isEmpty {
            record += [0x80 | type, UInt8(units.count >> 8), UInt8(units.count & 0xFF)]
            for unit in units {
                record += [UInt8(unit.count >> 8), UInt8(unit.count & 0xFF)] + unit
            }
        }
        return record
    }

    private static func removingEmulationPrevention(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var output: [UInt8] = []
        var zeros = 0
        for byte in bytes {
            if zeros >= 2, byte == 3 {
                zeros = 0
                continue
            }
            zeros = byte == 0 ? zeros + 1 : 0
            output.append(byte)
        }
        return output
    }
}
