import NIOCore

/// Reads the scalar subset of AMF3 (AMF3 specification, Adobe 2008, §3) that encoders put in
/// AMF3 command messages (RTMP message type 17) after the AMF0 "switch to AMF3" marker:
/// undefined, null, booleans, integers, doubles and strings. Objects, arrays and references
/// are refused: no encoder Sluice has met sends them in commands.
enum AMF3Reader {
    static func readValue(_ buffer: inout ByteBuffer) throws -> AMF0Value {
        guard let marker = buffer.readInteger(as: UInt8.self) else {
            throw MediaFormatError(.truncated, "AMF3 marker")
        }
        switch marker {
        case 0x00, 0x01: return marker == 0x00 ? .undefined : .null
        case 0x02: return .boolean(false)
        case 0x03: return .boolean(true)
        case 0x04: return .number(Double(signExtend29(try readU29(&buffer))))
        case 0x05:
            guard let bits = buffer.readInteger(as: UInt64.self) else { throw MediaFormatError(.truncated, "AMF3 double") }
            return .number(Double(bitPattern: bits))
        case 0x06: return .string(try readString(&buffer))
        default:
            throw MediaFormatError(.unsupported, "AMF3 marker 0x\(String(marker, radix: 16))")
        }
    }

    /// A variable-length unsigned 29-bit integer (AMF3 §1.3.1).
    static func readU29(_ buffer: inout ByteBuffer) throws -> UInt32 {
        var value: UInt32 = 0
        for index in 0..<4 {
            guard let byte = buffer.readInteger(as: UInt8.self) else { throw MediaFormatError(.truncated, "AMF3 U29") }
            if index == 3 {
                return (value << 8) | UInt32(byte)
            }
            value = (value << 7) | UInt32(byte & 0x7F)
            if byte & 0x80 == 0 { return value }
        }
        return value
    }

    private static func signExtend29(_ value: UInt32) -> Int32 {
        Int32(bitPattern: value << 3) >> 3
    }

    private static func readString(_ buffer: inout ByteBuffer) throws -> String {
        let header = try readU29(&buffer)
        guard header & 1 == 1 else { throw MediaFormatError(.unsupported, "AMF3 string reference") }
        let length = Int(header >> 1)
        guard let bytes = buffer.readSlice(length: length) else {
            throw MediaFormatError(.truncated, "AMF3 string of \(length) bytes")
        }
        guard let string = String(validating: bytes.readableBytesView, as: UTF8.self) else {
            throw MediaFormatError(.invalidUTF8, "AMF3 string")
        }
        return string
    }
}
