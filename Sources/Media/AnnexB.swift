import NIOCore

/// Turns length-prefixed NAL units (ISO/IEC 14496-15, as in FLV and MP4) into an Annex B
/// access unit for MPEG-TS: an access unit delimiter first, the parameter sets before every
/// keyframe (a TS segment must start decodable), start codes instead of lengths.
public enum AnnexB {
    public enum Codec: Sendable {
        case h264
        case hevc

        fileprivate func nalType(_ header: UInt8) -> UInt8 {
            self == .h264 ? header & 0x1F : (header >> 1) & 0x3F
        }

        fileprivate var delimiter: [UInt8] {
            self == .h264 ? [0, 0, 0, 1, 0x09, 0xF0] : [0, 0, 0, 1, 0x46, 0x01, 0x50]
        }

        fileprivate func isDelimiter(_ type: UInt8) -> Bool { type == (self == .h264 ? 9 : 35) }
        fileprivate func isParameterSet(_ type: UInt8) -> Bool { self == .h264 ? type == 7 || type == 8 : (32...34).contains(type) }
    }

    private static let startCode: [UInt8] = [0, 0, 0, 1]

    /// - Parameters:
    ///   - units: the coded frame's NAL units, each behind a big-endian length of `lengthSize` bytes.
    ///   - parameterSets: written before the frame's own units when it has none of its own; pass
    ///     them for keyframes.
    public static func accessUnit(_ units: ByteBuffer, lengthSize: Int, codec: Codec,
                                  parameterSets: [[UInt8]] = []) throws -> ByteBuffer {
        var input = units
        var nals: [ByteBuffer] = []
        while input.readableBytes > 0 {
            guard let length = readLength(&input, size: lengthSize), length > 0, let nal = input.readSlice(length: length) else {
                throw MediaFormatError(.truncated, "NAL unit length")
            }
            nals.append(nal)
        }
        var output = ByteBuffer()
        output.reserveCapacity(units.readableBytes + 64 + parameterSets.reduce(0) { $0 + $1.count + 4 })
        output.writeBytes(codec.delimiter)
        let types = nals.map { codec.nalType($0.getInteger(at: $0.readerIndex) ?? 0) }
        if !types.contains(where: codec.isParameterSet) {
            for set in parameterSets {
                output.writeBytes(startCode)
                output.writeBytes(set)
            }
        }
        for (nal, type) in zip(nals, types) where !codec.isDelimiter(type) {
            output.writeBytes(startCode)
            output.writeImmutableBuffer(nal)
        }
        return output
    }

    private static func readLength(_ buffer: inout ByteBuffer, size: Int) -> Int? {
        switch size {
        case 1: return buffer.readInteger(as: UInt8.self).map(Int.init)
        case 2: return buffer.readInteger(as: UInt16.self).map(Int.init)
        case 4: return buffer.readInteger(as: UInt32.self).map(Int.init)
        default: return nil
        }
    }
}

extension AnnexB {
    /// The NAL units of an Annex B byte stream (3- or 4-byte start codes), without their start codes.
    public static func units(in stream: [UInt8]) -> [ArraySlice<UInt8>] {
        var starts: [(code: Int, payload: Int)] = []
        var index = 0
        while index + 2 < stream.count {
            if stream[index] == 0, stream[index + 1] == 0, stream[index + 2] == 1 {
                let code = index > 0 && stream[index - 1] == 0 ? index - 1 : index
                starts.append((code, index + 3))
                index += 3
            } else {
                index += 1
            }
        }
        return starts.enumerated().map { position, start in
            let end = position + 1 < starts.count ? starts[position + 1].code : stream.count
            return stream[start.payload..<max(start.payload, end)]
        }.filter { !$0.isEmpty }
    }

    /// An Annex B access unit as FLV and MP4 carry it: each NAL unit behind a 4-byte length;
    /// delimiters and parameter sets dropped (they travel in the configuration record).
    public static func lengthPrefixed(_ stream: [UInt8], codec: Codec) -> ByteBuffer {
        var output = ByteBuffer()
        output.reserveCapacity(stream.count + 16)
        for unit in units(in: stream) {
            let type = codec.nalType(unit[unit.startIndex])
            if codec.isDelimiter(type) || codec.isParameterSet(type) { continue }
            output.writeInteger(UInt32(unit.count))
            output.writeBytes(unit)
        }
        return output
    }

    /// The parameter sets (VPS, SPS, PPS) of an Annex B stream, by NAL unit type, in order.
    public static func parameterSets(in stream: [UInt8], codec: Codec) -> [UInt8: [[UInt8]]] {
        var sets: [UInt8: [[UInt8]]] = [:]
        for unit in units(in: stream) {
            let type = codec.nalType(unit[unit.startIndex])
            if codec.isParameterSet(type) { sets[type, default: []].append(Array(unit)) }
        }
        return sets
    }
}
