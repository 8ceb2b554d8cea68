import NIOCore

/// What a viewer needs to know of each media message: its type, timestamp and first bytes
/// (to tell keyframes), without copying payloads. A load generator that copied every byte of
/// thousands of streams would measure itself, not the server.
struct SkimmedMessage {
    var type: UInt8
    var timestamp: UInt32
    /// Up to the first four payload bytes.
    var head: [UInt8]

    var isVideoKeyframe: Bool { type == 9 && head.count >= 2 && head[0] >> 4 == 1 && head[1] == 1 }
    var isVideoFrame: Bool { type == 9 && head.count >= 2 && head[1] == 1 }
}

/// Skims an HTTP-FLV response: the HTTP head, the FLV header, then tags, skipping bodies.
struct FLVSkimmer {
    private enum State {
        case httpHead
        case fileHeader(remaining: Int)
        case tagHeader
        case body(remaining: Int)
    }

    private var state = State.httpHead
    private var pending: [UInt8] = []
    private var current = SkimmedMessage(type: 0, timestamp: 0, head: [])

    mutating func feed(_ buffer: ByteBuffer, _ onMessage: (SkimmedMessage) -> Void) {
        buffer.withUnsafeReadableBytes { bytes in
            var index = 0
            while index < bytes.count {
                switch state {
                case .httpHead:
                    pending.append(bytes[index])
                    index += 1
                    if pending.count >= 4, pending.suffix(4) == [13, 10, 13, 10] {
                        pending.removeAll()
                        state = .fileHeader(remaining: 13)
                    }
                case .fileHeader(let remaining):
                    let take = min(remaining, bytes.count - index)
                    index += take
                    state = remaining == take ? .tagHeader : .fileHeader(remaining: remaining - take)
                case .tagHeader:
                    pending.append(bytes[index])
                    index += 1
                    guard pending.count == 11 else { continue }
                    let size = Int(pending[1]) << 16 | Int(pending[2]) << 8 | Int(pending[3])
                    let time = UInt32(pending[7]) << 24 | UInt32(pending[4]) << 16 | UInt32(pending[5]) << 8 | UInt32(pending[6])
                    current = SkimmedMessage(type: pending[0] & 0x1F, timestamp: time, head: [])
                    pending.removeAll(keepingCapacity: true)
                    state = .body(remaining: size + 4)
                    if size == 0 { onMessage(current) }
                case .body(let remaining):
                    let take = min(remaining, bytes.count - index)
                    let bodyLeft = remaining - 4
                    if current.head.count < 4, bodyLeft > 0 {
                        let wanted = min(4 - current.head.count, bodyLeft, take)
                        current.head.append(contentsOf: bytes[index..<(index + wanted)])
                        if current.head.count == 4 || wanted == bodyLeft { onMessage(current) }
                    }
                    index += take
                    state = remaining == take ? .tagHeader : .body(remaining: remaining - take)
                }
            }
        }
    }
}

/// Skims RTMP chunks after the handshake (RTMP spec §5.3): tracks headers per chunk stream and
/// Set Chunk Size, skips payloads.
struct RTMPChunkSkimmer {
    private struct ChunkStream {
        var timestamp: UInt32 = 0
        var delta: UInt32 = 0
        var length = 0
        var type: UInt8 = 0
        var extended = false
        var received = 0
        var head: [UInt8] = []
    }

    private var chunkSize = 128
    private var streams: [UInt32: ChunkStream] = [:]
    private var pending: [UInt8] = []
    private var payloadLeft = 0
    private var currentID: UInt32 = 0

    mutating func feed(_ buffer: ByteBuffer, _ onMessage: (SkimmedMessage) -> Void) {
        buffer.withUnsafeReadableBytes { bytes in
            var index = 0
            while index < bytes.count {
                if payloadLeft > 0 {
                    let take = min(payloadLeft, bytes.count - index)
                    var stream = streams[currentID]!
                    if stream.head.count < 4 {
                        let wanted = min(4 - stream.head.count, take)
                        stream.head.append(contentsOf: bytes[index..<(index + wanted)])
                    }
                    stream.received += take
                    payloadLeft -= take
                    index += take
                    if payloadLeft == 0 { finishChunk(&stream, onMessage) }
                    streams[currentID] = stream
                    continue
                }
                pending.append(bytes[index])
                index += 1
                parseHeader(onMessage)
            }
        }
    }

    private mutating func finishChunk(_ stream: inout ChunkStream, _ onMessage: (SkimmedMessage) -> Void) {
        guard stream.received >= stream.length else { return }
        let message = SkimmedMessage(type: stream.type, timestamp: stream.timestamp, head: stream.head)
        if message.type == 1, message.head.count == 4 {
            chunkSize = Int(UInt32(message.head[0]) << 24 | UInt32(message.head[1]) << 16
                | UInt32(message.head[2]) << 8 | UInt32(message.head[3])) & 0x7FFF_FFFF
        }
        stream.received = 0
        stream.head.removeAll(keepingCapacity: true)
        onMessage(message)
    }

    /// Parses `pending` once it holds a whole chunk header.
    private mutating func parseHeader(_ onMessage: (SkimmedMessage) -> Void) {
        let format = pending[0] >> 6
        var id = UInt32(pending[0] & 0x3F)
        var at = 1
        if id == 0 {
            guard pending.count >= 2 else { return }
            id = 64 + UInt32(pending[1])
            at = 2
        } else if id == 1 {
            guard pending.count >= 3 else { return }
            id = 64 + UInt32(pending[1]) + UInt32(pending[2]) * 256
            at = 3
        }
        let sizes = [11, 7, 3, 0]
        let messageHeader = sizes[Int(format)]
        guard pending.count >= at + messageHeader else { return }
        var stream = streams[id] ?? ChunkStream()
        var field: UInt32 = 0
        if format <= 2 { field = uint24(at) }
        let extended = format <= 2 ? field == 0xFF_FFFF : stream.extended
        guard pending.count >= at + messageHeader + (extended ? 4 : 0) else { return }
        if extended { field = uint32(at + messageHeader) }
        let starting = stream.received == 0
        if format <= 1 {
            stream.length = Int(uint24(at + 3))
            stream.type = pending[at + 6]
        }
        switch format {
        case 0:
            stream.timestamp = field
            stream.delta = field
        case 1, 2:
            stream.delta = field
            stream.timestamp &+= field
        default:
            if starting { stream.timestamp &+= stream.delta }
        }
        if format <= 2 { stream.extended = extended }
        pending.removeAll(keepingCapacity: true)
        currentID = id
        payloadLeft = min(chunkSize, stream.length - stream.received)
        if payloadLeft == 0 { finishChunk(&stream, onMessage) }
        streams[id] = stream
    }

    private func uint24(_ at: Int) -> UInt32 {
        UInt32(pending[at]) << 16 | UInt32(pending[at + 1]) << 8 | UInt32(pending[at + 2])
    }

    private func uint32(_ at: Int) -> UInt32 {
        UInt32(pending[at]) << 24 | UInt32(pending[at + 1]) << 16 | UInt32(pending[at + 2]) << 8 | UInt32(pending[at + 3])
    }
}
