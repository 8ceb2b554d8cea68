import NIOCore

/// One `cc_data` construct of ATSC A/53 Part 4 §6.2.3 (CEA-708 §4.4): three bytes.
public struct CCTriple: Sendable, Hashable {
    public var isValid: Bool
    /// 0 and 1: a CEA-608 byte pair of field 1 and 2; 2: DTVCC packet data; 3: DTVCC packet start.
    public var type: UInt8
    public var data1: UInt8
    public var data2: UInt8

    public init(isValid: Bool, type: UInt8, data1: UInt8, data2: UInt8) {
        self.isValid = isValid
        self.type = type & 0x03
        self.data1 = data1
        self.data2 = data2
    }
}

/// Finds the closed captions an H.264 or H.265 access unit carries: ATSC A/53 Part 4 user data
/// in SEI messages (`user_data_registered_itu_t_t35`, payload type 4: country 0xB5, provider
/// 0x0031, user identifier `GA94`, `user_data_type_code` 3), in NAL units of type 6 (H.264) or
/// 39/40 (H.265 prefix/suffix SEI), as FLV, MP4 and CMAF carry them (each unit behind a
/// big-endian length).
///
/// Every length is checked against the bytes there are; what does not parse ends the walk of
/// that unit or message, never throws and never traps.
public enum CaptionSEI {
    /// The `cc_data` triples of every caption SEI message in `units`, in order.
    /// - Parameter lengthSize: bytes of each unit's length prefix (1, 2 or 4, from the
    ///   configuration record); any other size finds nothing.
    public static func triples(inAccessUnit units: ByteBuffer, lengthSize: Int, codec: AnnexB.Codec) -> [CCTriple] {
        var input = units
        var found: [CCTriple] = []
        while input.readableBytes > 0 {
            guard let length = readLength(&input, size: lengthSize), let nal = input.readSlice(length: length) else { break }
            guard let header = nal.getInteger(at: nal.readerIndex, as: UInt8.self), isSEI(header, codec: codec) else { continue }
            found += triples(inSEI: nal.readableBytesView, codec: codec)
        }
        return found
    }

    /// The `cc_data` triples of one SEI NAL unit (its header included, emulation prevention
    /// bytes still in).
    public static func triples<Bytes: Collection<UInt8>>(inSEI nal: Bytes, codec: AnnexB.Codec) -> [CCTriple] {
        let rbsp = payload(of: nal, headerSize: codec == .h264 ? 1 : 2)
        var found: [CCTriple] = []
        var index = 0
        // sei_message(): payloadType and payloadSize as runs of 0xFF plus a last byte (H.264 §7.3.2.3.1).
        while index < rbsp.count, !(rbsp[index] == 0x80 && index == rbsp.count - 1) {
            guard let type = readCoded(rbsp, at: &index), let size = readCoded(rbsp, at: &index),
                  size <= rbsp.count - index else { break }
            if type == 4 { found += triples(inT35: rbsp[index ..< index + size]) }
            index += size
        }
        return found
    }

    /// The triples of one `user_data_registered_itu_t_t35` payload, if it is A/53 caption data
    /// with `process_cc_data_flag` set; otherwise none.
    public static func triples(inT35 payload: ArraySlice<UInt8>) -> [CCTriple] {
        let bytes = Array(payload)
        // country, provider (2), 'GA94', user_data_type_code, flags + cc_count, em_data.
        guard bytes.count >= 10, bytes[0] == 0xB5, bytes[1] == 0x00, bytes[2] == 0x31,
              bytes[3 ..< 7].elementsEqual([0x47, 0x41, 0x39, 0x34]), bytes[7] == 0x03,
              bytes[8] & 0x40 != 0 else { return [] }
        let count = min(Int(bytes[8] & 0x1F), (bytes.count - 10) / 3)
        return (0 ..< count).map { item in
            let at = 10 + 3 * item
            return CCTriple(isValid: bytes[at] & 0x04 != 0, type: bytes[at] & 0x03, data1: bytes[at + 1], data2: bytes[at + 2])
        }
    }

    /// An SEI NAL unit (H.264 type 6, H.265 prefix type 39) with A/53 caption user data for
    /// `ccData` (whole `cc_data` triples, 3 bytes each, as FFmpeg's `AV_FRAME_DATA_A53_CC` holds
    /// them), at most 31 triples per message; emulation prevention applied. Nil without a triple.
    public static func nalUnit(ccData: [UInt8], codec: AnnexB.Codec) -> [UInt8]? {
        let triples = ccData.count / 3
        guard triples > 0 else { return nil }
        var rbsp: [UInt8] = []
        for first in stride(from: 0, to: triples, by: 31) {
            let count = min(31, triples - first)
            let payload: [UInt8] = [0xB5, 0x00, 0x31, 0x47, 0x41, 0x39, 0x34, 0x03, 0x40 | UInt8(count), 0xFF]
                + ccData[3 * first ..< 3 * (first + count)] + [0xFF]
            rbsp += [0x04, UInt8(payload.count)] + payload
        }
        rbsp.append(0x80)
        var nal: [UInt8] = codec == .h264 ? [0x06] : [39 << 1, 0x01]
        var zeros = 0
        for byte in rbsp {
            if zeros >= 2, byte <= 3 {
                nal.append(3)
                zeros = 0
            }
            nal.append(byte)
            zeros = byte == 0 ? zeros + 1 : 0
        }
        return nal
    }

    /// `units` (NAL units behind 4-byte lengths) with `nal` put in front of the first coded
    /// slice (VCL unit), where an SEI belongs; at the end if there is none.
    public static func inserting(_ nal: [UInt8], into units: ByteBuffer, codec: AnnexB.Codec) -> ByteBuffer {
        var input = units
        var output = ByteBuffer()
        output.reserveCapacity(units.readableBytes + nal.count + 4)
        var inserted = false
        while let length = input.readInteger(as: UInt32.self), let unit = input.readSlice(length: Int(length)) {
            let header = unit.getInteger(at: unit.readerIndex, as: UInt8.self) ?? 0
            let isVCL = codec == .h264 ? (1 ... 5).contains(header & 0x1F) : (header >> 1) & 0x3F < 32
            if isVCL, !inserted {
                output.writeInteger(UInt32(nal.count))
                output.writeBytes(nal)
                inserted = true
            }
            output.writeInteger(length)
            output.writeImmutableBuffer(unit)
        }
        output.writeImmutableBuffer(input)
        if !inserted {
            output.writeInteger(UInt32(nal.count))
            output.writeBytes(nal)
        }
        return output
    }

    static func isSEI(_ header: UInt8, codec: AnnexB.Codec) -> Bool {
        switch codec {
        case .h264: return header & 0x1F == 6
        case .hevc: return (header >> 1) & 0x3F == 39 || (header >> 1) & 0x3F == 40
        }
    }

    /// The RBSP after the NAL header: every `00 00 03` has its 03 taken out (H.264 §7.4.1).
    static func payload<Bytes: Collection<UInt8>>(of nal: Bytes, headerSize: Int) -> [UInt8] {
        var rbsp: [UInt8] = []
        rbsp.reserveCapacity(max(0, nal.count - headerSize))
        var zeros = 0
        for byte in nal.dropFirst(headerSize) {
            if zeros >= 2, byte == 3 {
                zeros = 0
                continue
            }
            zeros = byte == 0 ? zeros + 1 : 0
            rbsp.append(byte)
        }
        return rbsp
    }

    /// A value coded as bytes of 0xFF (255 each) and a last byte added to them; nil past the end.
    private static func readCoded(_ bytes: [UInt8], at index: inout Int) -> Int? {
        var value = 0
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            value += Int(byte)
            if byte != 0xFF { return value }
        }
        return nil
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
