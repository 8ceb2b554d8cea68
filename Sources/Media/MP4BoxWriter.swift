import NIOCore

/// Writes ISO BMFF boxes (ISO/IEC 14496-12 §4.2) into a `ByteBuffer`, filling in each box's size
/// once its body is written.
struct MP4BoxWriter {
    var buffer: ByteBuffer

    init(capacity: Int = 1024) {
        buffer = ByteBuffer()
        buffer.reserveCapacity(capacity)
    }

    mutating func box(_ type: String, _ body: (inout MP4BoxWriter) -> Void) {
        let start = buffer.writerIndex
        buffer.writeInteger(UInt32(0))
        buffer.writeString(type)
        body(&self)
        buffer.setInteger(UInt32(buffer.writerIndex - start), at: start)
    }

    /// A FullBox: the body starts with version and 24 bits of flags.
    mutating func fullBox(_ type: String, version: UInt8 = 0, flags: UInt32 = 0, _ body: (inout MP4BoxWriter) -> Void) {
        box(type) { writer in
            writer.u32(UInt32(version) << 24 | flags & 0x00FF_FFFF)
            body(&writer)
        }
    }

    mutating func u8(_ value: UInt8) { buffer.writeInteger(value) }
    mutating func u16(_ value: UInt16) { buffer.writeInteger(value) }
    mutating func u32(_ value: UInt32) { buffer.writeInteger(value) }
    mutating func u64(_ value: UInt64) { buffer.writeInteger(value) }
    mutating func bytes(_ value: [UInt8]) { buffer.writeBytes(value) }
    mutating func zeros(_ count: Int) { buffer.writeRepeatingByte(0, count: count) }
    mutating func fourCC(_ value: String) { buffer.writeString(value) }

    /// The unity transformation matrix of `mvhd` and `tkhd`.
    mutating func unityMatrix() {
        for value: UInt32 in [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] { u32(value) }
    }
}
