import Media
import NIOCore

/// What the chunk decoder hands on: complete messages, and the points at which the peer is owed
/// an acknowledgement.
public enum ChunkDecoderOutput: Sendable, Hashable {
    case message(RTMPMessage)
    /// Send an Acknowledgement (type 3) carrying this sequence number (bytes received so far).
    case acknowledge(UInt32)
}

/// Reassembles RTMP messages from chunks (RTMP specification 1.0 §5.3): all four chunk header
/// formats, 1–3 byte basic headers, extended timestamps, Set Chunk Size and Abort applied as they
/// arrive, and acknowledgements owed per the peer's window (§5.4.3).
///
/// Every limit is explicit; exceeding one throws `RTMPError` and the connection is closed.
public struct ChunkDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ChunkDecoderOutput

    public struct Limits: Sendable {
        /// Largest message accepted, bytes. Default 8 MiB (a 4K keyframe fits).
        public var maxMessageSize: Int
        /// Most chunk streams one peer may use. Default 64.
        public var maxChunkStreams: Int
        /// Most bytes held in partly received messages across all chunk streams. Default 16 MiB.
        public var maxBufferedBytes: Int

        public init(maxMessageSize: Int = 8 << 20, maxChunkStreams: Int = 64, maxBufferedBytes: Int = 16 << 20) {
            self.maxMessageSize = maxMessageSize
            self.maxChunkStreams = maxChunkStreams
            self.maxBufferedBytes = maxBufferedBytes
        }
    }

    /// The per-chunk-stream state the header compression refers back to.
    struct ChunkStreamState {
        var timestamp: UInt32 = 0
        var delta: UInt32 = 0
        var length: Int = 0
        var typeID: UInt8 = 0
        var streamID: UInt32 = 0
        /// Whether the last header carried an extended timestamp (so type-3 chunks carry one too).
        var hasExtendedTimestamp = false
        var extendedTimestamp: UInt32 = 0
        var partial: ByteBuffer?
    }

    public let limits: Limits
    public private(set) var chunkSize = 128
    private var streams: [UInt32: ChunkStreamState] = [:]
    /// Bytes held in partly received messages, which `Limits.maxBufferedBytes` bounds: always the
    /// sum of the chunk streams' partial buffers (added as a chunk is held, released once, when
    /// its message completes or is aborted), so never negative.
    private(set) var bufferedBytes = 0
    private var bytesReceived: UInt64 = 0
    private var bytesAcknowledged: UInt64 = 0
    /// Set by the peer's Window Acknowledgement Size; 0 until then (no acknowledgements owed).
    private var acknowledgementWindow: UInt64 = 0

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if let sequence = acknowledgementDue() {
            context.fireChannelRead(wrapInboundOut(.acknowledge(sequence)))
            return .continue
        }
        let before = buffer.readableBytes
        guard let message = try decodeChunk(&buffer) else {
            return buffer.readableBytes == before ? .needMoreData : .continue
        }
        context.fireChannelRead(wrapInboundOut(.message(message)))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer,
                                    seenEOF: Bool) throws -> DecodingState {
        // A connection that ends mid-chunk leaves nothing to deliver.
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }

    /// Decodes every complete message in `buffer`, outside a channel pipeline (clients, tools).
    /// Partial chunks stay in `buffer` for the next call.
    public mutating func decodeAvailable(_ buffer: inout ByteBuffer) throws -> [ChunkDecoderOutput] {
        var output: [ChunkDecoderOutput] = []
        while true {
            if let sequence = acknowledgementDue() { output.append(.acknowledge(sequence)) }
            let before = buffer.readableBytes
            if let message = try decodeChunk(&buffer) {
                output.append(.message(message))
            } else if buffer.readableBytes == before {
                return output
            }
        }
    }

    private mutating func acknowledgementDue() -> UInt32? {
        guard acknowledgementWindow > 0, bytesReceived - bytesAcknowledged >= acknowledgementWindow else { return nil }
        bytesAcknowledged = bytesReceived
        return UInt32(truncatingIfNeeded: bytesReceived)
    }

    /// Reads one chunk if all of it is buffered. Returns a message when the chunk completes one;
    /// `nil` either when more bytes are needed (nothing consumed) or when a chunk was consumed
    /// without completing a message.
    mutating func decodeChunk(_ buffer: inout ByteBuffer) throws -> RTMPMessage? {
        var view = buffer
        guard let header = try readHeader(&view) else { return nil }
        var state = header.state
        let held = state.partial?.readableBytes ?? 0
        let size = min(chunkSize, state.length - held)
        guard var body = view.readSlice(length: size) else { return nil }

        bytesReceived += UInt64(buffer.readableBytes - view.readableBytes)
        buffer.moveReaderIndex(to: view.readerIndex)

        guard held + size == state.length else {
            guard size <= limits.maxBufferedBytes - bufferedBytes else {
                throw RTMPError(.bufferLimitExceeded, "\(bufferedBytes + size) bytes in partial messages")
            }
            var partial = state.partial ?? ByteBuffer()
            if state.partial == nil { partial.reserveCapacity(min(state.length, 1 << 20)) }
            partial.writeBuffer(&body)
            state.partial = partial
            bufferedBytes += size
            streams[header.chunkStreamID] = state
            return nil
        }
        var payload = body
        if var partial = state.partial {
            partial.writeBuffer(&body)
            payload = partial
        }
        // The stream's state is stored before `complete` runs, so an Abort naming this very
        // chunk stream finds no partial message left to release (it once released it twice).
        state.partial = nil
        bufferedBytes -= held
        streams[header.chunkStreamID] = state
        return try complete(RTMPMessage(typeID: state.typeID, streamID: state.streamID, timestamp: state.timestamp,
                                        chunkStreamID: header.chunkStreamID, payload: payload))
    }

    /// `bufferedBytes` counted afresh; tests check that the two always agree.
    var partialBytesCounted: Int { streams.values.reduce(0) { $0 + ($1.partial?.readableBytes ?? 0) } }

    private struct Header {
        var chunkStreamID: UInt32
        var state: ChunkStreamState
    }

    /// Parses a basic and message header (§5.3.1.1–5.3.1.3) against the chunk stream's state.
    private func readHeader(_ view: inout ByteBuffer) throws -> Header? {
        guard let (format, chunkStreamID) = Self.readBasicHeader(&view) else { return nil }
        let known = streams[chunkStreamID]
        guard known != nil || format == 0 else {
            throw RTMPError(.malformedChunk, "chunk stream \(chunkStreamID) starts with a type \(format) header")
        }
        guard known != nil || streams.count < limits.maxChunkStreams else {
            throw RTMPError(.tooManyChunkStreams, "more than \(limits.maxChunkStreams) chunk streams")
        }
        var state = known ?? ChunkStreamState()
        let continuing = state.partial != nil
        guard !continuing || format == 3 else {
            throw RTMPError(.malformedChunk, "type \(format) header inside a message on chunk stream \(chunkStreamID)")
        }
        guard Self.readMessageHeader(format: format, continuing: continuing, into: &state, from: &view) else { return nil }
        guard state.length <= limits.maxMessageSize else {
            throw RTMPError(.messageTooLarge, "message of \(state.length) bytes (limit \(limits.maxMessageSize))")
        }
        return Header(chunkStreamID: chunkStreamID, state: state)
    }

    /// The basic header (§5.3.1.1): the format and the chunk stream id in one to three bytes;
    /// nil until they are all there.
    private static func readBasicHeader(_ view: inout ByteBuffer) -> (format: UInt8, chunkStreamID: UInt32)? {
        guard let first = view.readInteger(as: UInt8.self) else { return nil }
        var chunkStreamID = UInt32(first & 0x3F)
        if chunkStreamID == 0 {
            guard let byte = view.readInteger(as: UInt8.self) else { return nil }
            chunkStreamID = 64 + UInt32(byte)
        } else if chunkStreamID == 1 {
            guard let low = view.readInteger(as: UInt8.self), let high = view.readInteger(as: UInt8.self) else { return nil }
            chunkStreamID = 64 + UInt32(low) + UInt32(high) * 256
        }
        return (first >> 6, chunkStreamID)
    }

    /// The message header of type `format` (§5.3.1.2) and any extended timestamp (§5.3.1.3),
    /// applied to the chunk stream's state; false until all of it is there.
    private static func readMessageHeader(format: UInt8, continuing: Bool, into state: inout ChunkStreamState,
                                          from view: inout ByteBuffer) -> Bool {
        var timeField: UInt32 = 0
        if format <= 2 {
            guard let field = view.readUInt24() else { return false }
            timeField = field
        }
        if format <= 1 {
            guard let length = view.readUInt24(), let typeID = view.readInteger(as: UInt8.self) else { return false }
            state.length = Int(length)
            state.typeID = typeID
        }
        if format == 0 {
            guard let streamID = view.readInteger(endianness: .little, as: UInt32.self) else { return false }
            state.streamID = streamID
        }
        if format <= 2 {
            state.hasExtendedTimestamp = timeField == 0xFF_FFFF
            if state.hasExtendedTimestamp {
                guard let extended = view.readInteger(as: UInt32.self) else { return false }
                timeField = extended
                state.extendedTimestamp = extended
            }
        } else if state.hasExtendedTimestamp {
            // Type-3 chunks repeat the extended timestamp, but some encoders omit it: accept the
            // four bytes only when they match what the chunk stream last carried.
            guard let peek = view.getInteger(at: view.readerIndex, as: UInt32.self) else { return false }
            if peek == state.extendedTimestamp { view.moveReaderIndex(forwardBy: 4) }
        }
        switch format {
        case 0:
            state.timestamp = timeField
            state.delta = timeField
        case 1, 2:
            state.delta = timeField
            state.timestamp &+= timeField
        default:
            if !continuing { state.timestamp &+= state.delta }
        }
        return true
    }

    /// Applies protocol control messages that change how the following chunks are read.
    private mutating func complete(_ message: RTMPMessage) throws -> RTMPMessage {
        switch message.type {
        case .setChunkSize?:
            guard let raw = message.payload.getInteger(at: message.payload.readerIndex, as: UInt32.self) else {
                throw RTMPError(.malformedChunk, "short Set Chunk Size")
            }
            // §5.4.1: the top bit is zero and the size at least 1; a chunk never needs to be larger
            // than the largest message (24-bit length), so larger sizes are refused too.
            guard (1...0xFF_FFFF).contains(raw) else { throw RTMPError(.invalidChunkSize, "chunk size \(raw)") }
            chunkSize = Int(raw)
        case .abort?:
            if let id = message.payload.getInteger(at: message.payload.readerIndex, as: UInt32.self),
               let partial = streams[id]?.partial {
                streams[id]?.partial = nil
                bufferedBytes -= partial.readableBytes
            }
        case .windowAcknowledgementSize?:
            if let window = message.payload.getInteger(at: message.payload.readerIndex, as: UInt32.self) {
                acknowledgementWindow = UInt64(window)
            }
        default:
            break
        }
        return message
    }
}
