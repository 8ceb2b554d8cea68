import Media
import NIOCore

/// Splits messages into chunks (RTMP specification 1.0 §5.3), choosing per message the smallest
/// header the previous one on its chunk stream allows: type 0 (full), 1 (same stream), 2 (same
/// length and type) or 3 (same delta too).
public struct ChunkEncoder: Sendable {
    private struct Previous {
        var timestamp: UInt32
        var delta: UInt32
        var length: Int
        var typeID: UInt8
        var streamID: UInt32
    }

    /// Bytes of payload per chunk. Change it only right after sending Set Chunk Size.
    public var chunkSize: Int {
        didSet { precondition((1...0xFF_FFFF).contains(chunkSize), "chunk size out of range") }
    }
    private var previous: [UInt32: Previous] = [:]

    public init(chunkSize: Int = 128) {
        precondition((1...0xFF_FFFF).contains(chunkSize), "chunk size out of range")
        self.chunkSize = chunkSize
    }

    public mutating func encode(_ message: RTMPMessage, into buffer: inout ByteBuffer) {
        let csid = message.chunkStreamID
        let length = message.payload.readableBytes
        var format: UInt8 = 0
        var timeField = message.timestamp
        if let last = previous[csid], last.streamID == message.streamID, message.timestamp >= last.timestamp {
            let delta = message.timestamp - last.timestamp
            timeField = delta
            if last.length == length && last.typeID == message.typeID {
                format = delta == last.delta ? 3 : 2
            } else {
                format = 1
            }
            previous[csid] = Previous(timestamp: message.timestamp, delta: delta, length: length,
                                      typeID: message.typeID, streamID: message.streamID)
        } else {
            // After a type-0 header the spec defines the delta as the absolute timestamp (§5.3.1.2.4).
            previous[csid] = Previous(timestamp: message.timestamp, delta: message.timestamp, length: length,
                                      typeID: message.typeID, streamID: message.streamID)
        }
        Self.writeChunks(message, format: format, timeField: timeField, chunkSize: chunkSize, into: &buffer)
    }

    /// Encodes `message` with a type-0 header, independent of any connection's previous
    /// headers, so the bytes can be shared by every player of a stream.
    public static func encodeStandalone(_ message: RTMPMessage, chunkSize: Int = RTMPDefaults.outboundChunkSize,
                                        into buffer: inout ByteBuffer) {
        writeChunks(message, format: 0, timeField: message.timestamp, chunkSize: chunkSize, into: &buffer)
    }

    private static func writeChunks(_ message: RTMPMessage, format: UInt8, timeField: UInt32, chunkSize: Int,
                                    into buffer: inout ByteBuffer) {
        var payload = message.payload
        let extended = timeField >= 0xFF_FFFF
        let length = payload.readableBytes
        let chunks = max(1, (length + chunkSize - 1) / chunkSize)
        buffer.reserveCapacity(buffer.writerIndex + length + 18 + (chunks - 1) * 7)

        writeBasicHeader(format: format, chunkStreamID: message.chunkStreamID, into: &buffer)
        if format <= 2 { buffer.writeUInt24(extended ? 0xFF_FFFF : timeField) }
        if format <= 1 {
            buffer.writeUInt24(UInt32(length))
            buffer.writeInteger(message.typeID)
        }
        if format == 0 { buffer.writeInteger(message.streamID, endianness: .little) }
        if extended { buffer.writeInteger(timeField) }
        var first = true
        while first || payload.readableBytes > 0 {
            if !first {
                writeBasicHeader(format: 3, chunkStreamID: message.chunkStreamID, into: &buffer)
                if extended { buffer.writeInteger(timeField) }
            }
            first = false
            var slice = payload.readSlice(length: min(chunkSize, payload.readableBytes))!
            buffer.writeBuffer(&slice)
        }
    }

    private static func writeBasicHeader(format: UInt8, chunkStreamID: UInt32, into buffer: inout ByteBuffer) {
        switch chunkStreamID {
        case 2..<64:
            buffer.writeInteger(format << 6 | UInt8(chunkStreamID))
        case 64..<320:
            buffer.writeInteger(format << 6)
            buffer.writeInteger(UInt8(chunkStreamID - 64))
        default:
            precondition(chunkStreamID >= 320 && chunkStreamID < 65_600, "chunk stream id \(chunkStreamID) out of range")
            buffer.writeInteger(format << 6 | 1)
            buffer.writeInteger(UInt8((chunkStreamID - 64) & 0xFF))
            buffer.writeInteger(UInt8((chunkStreamID - 64) >> 8))
        }
    }
}
