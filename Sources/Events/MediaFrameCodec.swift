import NIOCore

/// The binary form of a `MediaFrame` on a Kafka topic: a fixed header, then the codec payload
/// exactly as carried in the FLV tag body. Never base64, never JSON.
///
/// Version 1 layout (big-endian):
/// ```
/// magic "SF" | version u8 | kind u8 | flags u8 | codec len u8 | codec | rendition len u8 | rendition
/// | dts i64 | pts i64 | session id u64 | sequence u64 | payload length u32 | payload
/// ```
public enum MediaFrameCodec {
    public static let version: UInt8 = 1
    static let magic: UInt16 = 0x5346  // "SF"

    public static func encode(_ frame: MediaFrame) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(48 + frame.codec.utf8.count + frame.rendition.utf8.count + frame.payload.readableBytes)
        buffer.writeInteger(magic)
        buffer.writeInteger(version)
        buffer.writeInteger(frame.kind.rawValue)
        buffer.writeInteger(frame.flags.rawValue)
        writeShortString(frame.codec, into: &buffer)
        writeShortString(frame.rendition, into: &buffer)
        buffer.writeInteger(frame.dts)
        buffer.writeInteger(frame.pts)
        buffer.writeInteger(frame.sessionID)
        buffer.writeInteger(frame.sequence)
        buffer.writeInteger(UInt32(frame.payload.readableBytes))
        buffer.writeImmutableBuffer(frame.payload)
        return buffer
    }

    /// Decodes one frame; the payload is a slice of `buffer`, not a copy.
    public static func decode(_ buffer: ByteBuffer) throws -> MediaFrame {
        var buffer = buffer
        guard buffer.readInteger(as: UInt16.self) == magic else { throw EventBusError(.malformedRecord, "media frame magic") }
        guard let version = buffer.readInteger(as: UInt8.self), version == Self.version else {
            throw EventBusError(.unsupportedVersion, "media frame version")
        }
        guard let kindByte = buffer.readInteger(as: UInt8.self), let kind = MediaFrame.Kind(rawValue: kindByte),
              let flags = buffer.readInteger(as: UInt8.self),
              let codec = readShortString(&buffer), let rendition = readShortString(&buffer),
              let dts = buffer.readInteger(as: Int64.self), let pts = buffer.readInteger(as: Int64.self),
              let session = buffer.readInteger(as: UInt64.self), let sequence = buffer.readInteger(as: UInt64.self),
              let length = buffer.readInteger(as: UInt32.self), let payload = buffer.readSlice(length: Int(length))
        else { throw EventBusError(.malformedRecord, "media frame header truncated") }
        guard buffer.readableBytes == 0 else { throw EventBusError(.malformedRecord, "trailing bytes after media frame") }
        guard MediaFrame.timeRange.contains(dts), MediaFrame.timeRange.contains(pts) else {
            throw EventBusError(.malformedRecord, "media frame time \(dts)/\(pts) ms out of range")
        }
        return MediaFrame(kind: kind, flags: .init(rawValue: flags), codec: codec, dts: dts, pts: pts,
                          sessionID: session, sequence: sequence, rendition: rendition, payload: payload)
    }

    private static func writeShortString(_ string: String, into buffer: inout ByteBuffer) {
        let bytes = string.utf8.prefix(255)
        buffer.writeInteger(UInt8(bytes.count))
        buffer.writeBytes(bytes)
    }

    private static func readShortString(_ buffer: inout ByteBuffer) -> String? {
        guard let length = buffer.readInteger(as: UInt8.self) else { return nil }
        return buffer.readString(length: Int(length))
    }
}
