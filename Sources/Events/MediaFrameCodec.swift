import NIOCore

/// The binary form of a `MediaFrame` on a Kafka topic: a fixed header, then the codec payload
/// exactly as carried in the FLV tag body. Never base64, never JSON.
///
/// Version 2 layout (big-endian):
/// ```
/// magic "SF" | version u8 | kind u8 | flags u8 | codec len u8 | codec | rendition len u8 | rendition
/// | dts i64 | pts i64 | session id u64 | sequence u64
/// | timeline u8 (0 or 1) [| origin i64 | segment u32 | discontinuity u32 | epoch u16 | period start i64 | period first segment u32]
/// | payload length u32 | payload
/// ```
/// Version 1 (no timeline byte) is still read.
public enum MediaFrameCodec {
    public static let version: UInt8 = 2
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
        if let timeline = frame.timeline {
            buffer.writeInteger(UInt8(1))
            buffer.writeInteger(timeline.origin)
            buffer.writeInteger(timeline.segment)
            buffer.writeInteger(timeline.discontinuity)
            buffer.writeInteger(timeline.epoch)
            buffer.writeInteger(timeline.periodStart)
            buffer.writeInteger(timeline.periodFirstSegment)
        } else {
            buffer.writeInteger(UInt8(0))
        }
        buffer.writeInteger(UInt32(frame.payload.readableBytes))
        buffer.writeImmutableBuffer(frame.payload)
        return buffer
    }

    /// Decodes one frame; the payload is a slice of `buffer`, not a copy.
    public static func decode(_ buffer: ByteBuffer) throws -> MediaFrame {
        var buffer = buffer
        guard buffer.readInteger(as: UInt16.self) == magic else { throw EventBusError(.malformedRecord, "media frame magic") }
        guard let version = buffer.readInteger(as: UInt8.self), version == 1 || version == Self.version else {
            throw EventBusError(.unsupportedVersion, "media frame version")
        }
        guard let kindByte = buffer.readInteger(as: UInt8.self), let kind = MediaFrame.Kind(rawValue: kindByte),
              let flags = buffer.readInteger(as: UInt8.self),
              let codec = readShortString(&buffer), let rendition = readShortString(&buffer),
              let dts = buffer.readInteger(as: Int64.self), let pts = buffer.readInteger(as: Int64.self),
              let session = buffer.readInteger(as: UInt64.self), let sequence = buffer.readInteger(as: UInt64.self)
        else { throw EventBusError(.malformedRecord, "media frame header truncated") }
        let timeline = version == 1 ? nil : try readTimeline(&buffer)
        guard let length = buffer.readInteger(as: UInt32.self), let payload = buffer.readSlice(length: Int(length))
        else { throw EventBusError(.malformedRecord, "media frame header truncated") }
        guard buffer.readableBytes == 0 else { throw EventBusError(.malformedRecord, "trailing bytes after media frame") }
        guard MediaFrame.timeRange.contains(dts), MediaFrame.timeRange.contains(pts) else {
            throw EventBusError(.malformedRecord, "media frame time \(dts)/\(pts) ms out of range")
        }
        return MediaFrame(kind: kind, flags: .init(rawValue: flags), codec: codec, dts: dts, pts: pts,
                          sessionID: session, sequence: sequence, rendition: rendition, timeline: timeline, payload: payload)
    }

    private static func readTimeline(_ buffer: inout ByteBuffer) throws -> MediaTimeline? {
        guard let present = buffer.readInteger(as: UInt8.self) else { throw EventBusError(.malformedRecord, "media frame header truncated") }
        switch present {
        case 0: return nil
        case 1: break
        default: throw EventBusError(.malformedRecord, "media frame timeline marker \(present)")
        }
        guard let origin = buffer.readInteger(as: Int64.self), let segment = buffer.readInteger(as: UInt32.self),
              let discontinuity = buffer.readInteger(as: UInt32.self), let epoch = buffer.readInteger(as: UInt16.self),
              let periodStart = buffer.readInteger(as: Int64.self), let periodFirst = buffer.readInteger(as: UInt32.self)
        else { throw EventBusError(.malformedRecord, "media frame header truncated") }
        guard MediaTimeline.originRange.contains(origin), MediaFrame.timeRange.contains(periodStart) else {
            throw EventBusError(.malformedRecord, "media frame timeline origin \(origin) or period start \(periodStart) ms out of range")
        }
        return MediaTimeline(origin: origin, segment: segment, discontinuity: discontinuity, epoch: epoch, periodStart: periodStart,
                             periodFirstSegment: periodFirst)
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
