import NIOCore

/// A tag read back from an FLV byte stream.
public struct FLVReadTag: Sendable, Hashable {
    public var type: FLVTagType
    /// Milliseconds, with the extension byte applied.
    public var timestamp: UInt32
    public var body: ByteBuffer
}

/// Incremental FLV stream reader: feed bytes as they arrive, take tags as they complete.
/// Used by players (tests, the load generator) to read HTTP-FLV.
public struct FLVStreamReader: Sendable {
    private var buffer = ByteBuffer()
    private var sawHeader = false
    /// Largest tag body accepted. Default 16 MiB.
    public var maxTagSize: Int

    public init(maxTagSize: Int = 16 << 20) {
        self.maxTagSize = maxTagSize
    }

    public mutating func feed(_ bytes: ByteBuffer) {
        var bytes = bytes
        buffer.writeBuffer(&bytes)
    }

    /// The next complete tag, `nil` if more bytes are needed.
    public mutating func nextTag() throws -> FLVReadTag? {
        if !sawHeader {
            guard buffer.readableBytes >= FLV.fileHeaderSize else { return nil }
            guard buffer.getBytes(at: buffer.readerIndex, length: 3) == [0x46, 0x4C, 0x56] else {
                throw MediaFormatError(.malformed, "FLV signature missing")
            }
            buffer.moveReaderIndex(forwardBy: FLV.fileHeaderSize)
            sawHeader = true
        }
        guard buffer.readableBytes >= FLV.tagHeaderSize else { return nil }
        let start = buffer.readerIndex
        let typeByte = buffer.getInteger(at: start, as: UInt8.self)! & 0x1F
        var lengthView = buffer.getSlice(at: start + 1, length: 3)!
        let size = Int(lengthView.readUInt24()!)
        guard size <= maxTagSize else { throw MediaFormatError(.tooLarge, "FLV tag of \(size) bytes") }
        guard let type = FLVTagType(rawValue: typeByte) else {
            throw MediaFormatError(.malformed, "FLV tag type \(typeByte)")
        }
        guard buffer.readableBytes >= FLV.tagHeaderSize + size + 4 else { return nil }
        var timeView = buffer.getSlice(at: start + 4, length: 4)!
        let low = timeView.readUInt24()!
        let high = UInt32(timeView.readInteger(as: UInt8.self)!)
        let body = buffer.getSlice(at: start + FLV.tagHeaderSize, length: size)!
        buffer.moveReaderIndex(forwardBy: FLV.tagHeaderSize + size + 4)
        // Tag bodies are slices of the buffer, so discarding copies what is left: only once more
        // has been read than is left (amortised), never per tag (which pinned a copy of the
        // whole remaining input to every body).
        if buffer.readerIndex >= 65_536, buffer.readerIndex > buffer.readableBytes { buffer.discardReadBytes() }
        return FLVReadTag(type: type, timestamp: high << 24 | low, body: body)
    }
}
