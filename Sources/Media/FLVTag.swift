import NIOCore

/// The kind of an FLV tag (FLV specification v10.1, Annex E.4.1); the values are also RTMP
/// message type ids for audio (8), video (9) and AMF0 data (18).
public enum FLVTagType: UInt8, Sendable, Hashable {
    case audio = 8
    case video = 9
    case script = 18
}

/// FLV file and tag serialization (FLV specification v10.1, Annex E.2–E.4).
public enum FLV {
    /// Size of a tag header: type, data size, timestamp, timestamp extension, stream id.
    public static let tagHeaderSize = 11
    /// Size of the file header plus the first PreviousTagSize0 field.
    public static let fileHeaderSize = 13

    /// The 9-byte FLV header and `PreviousTagSize0` (E.2, E.3).
    public static func fileHeader(hasAudio: Bool, hasVideo: Bool) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeBytes([0x46, 0x4C, 0x56, 0x01])  // "FLV", version 1
        buffer.writeInteger(UInt8((hasAudio ? 0x04 : 0) | (hasVideo ? 0x01 : 0)))
        buffer.writeInteger(UInt32(9))
        buffer.writeInteger(UInt32(0))
        return buffer
    }

    /// One complete tag: header, `body` and the trailing PreviousTagSize, in one buffer, so that
    /// it can be shared by every viewer of a stream.
    ///
    /// - Parameter timestamp: milliseconds; FLV carries 32 bits (24 + an 8-bit extension).
    public static func tag(type: FLVTagType, timestamp: UInt32, body: ByteBuffer) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(tagHeaderSize + body.readableBytes + 4)
        writeTag(type: type, timestamp: timestamp, body: body, into: &buffer)
        return buffer
    }

    /// A video tag body for H.264 (legacy AVC packet, E.4.3.1) or HEVC (enhanced RTMP, FourCC
    /// `hvc1`): a configuration record when `sequenceHeader`, else length-prefixed NAL units.
    public static func videoBody(codec: VideoCodec, keyframe: Bool, sequenceHeader: Bool = false, compositionTime: Int32 = 0,
                                 data: ByteBuffer) -> ByteBuffer {
        var body = ByteBuffer()
        body.reserveCapacity(data.readableBytes + 8)
        let frameType: UInt8 = keyframe || sequenceHeader ? 1 : 2
        if codec == .hevc {
            body.writeInteger(0x80 | frameType << 4 | (sequenceHeader ? 0 : 1))
            body.writeString("hvc1")
        } else {
            body.writeInteger(frameType << 4 | 7)
            body.writeInteger(UInt8(sequenceHeader ? 0 : 1))
        }
        if !(codec == .hevc && sequenceHeader) {
            body.writeUInt24(UInt32(bitPattern: compositionTime) & 0xFF_FFFF)
        }
        body.writeImmutableBuffer(data)
        return body
    }

    public static func writeTag(type: FLVTagType, timestamp: UInt32, body: ByteBuffer, into buffer: inout ByteBuffer) {
        let size = body.readableBytes
        buffer.writeInteger(type.rawValue)
        buffer.writeUInt24(UInt32(size))
        buffer.writeUInt24(timestamp & 0xFF_FFFF)
        buffer.writeInteger(UInt8(truncatingIfNeeded: timestamp >> 24))
        buffer.writeUInt24(0)
        buffer.writeImmutableBuffer(body)
        buffer.writeInteger(UInt32(tagHeaderSize + size))
    }
}

extension ByteBuffer {
    /// Writes the low 24 bits of `value`, big-endian.
    public mutating func writeUInt24(_ value: UInt32) {
        writeInteger(UInt8(truncatingIfNeeded: value >> 16))
        writeInteger(UInt16(truncatingIfNeeded: value))
    }

    /// Reads a big-endian 24-bit unsigned integer.
    public mutating func readUInt24() -> UInt32? {
        guard let high = readInteger(as: UInt8.self), let low = readInteger(as: UInt16.self) else { return nil }
        return UInt32(high) << 16 | UInt32(low)
    }
}
