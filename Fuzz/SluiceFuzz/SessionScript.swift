import NIOCore
import RTMP

/// The input format of the `rtmp-session` target: what one connection's peer and application
/// did, as a sequence of records, so the fuzzer mutates message boundaries, types and bodies
/// instead of rediscovering the chunk format.
///
/// Each record is `code u8 | message stream id u8 | length u24 (big-endian) | body`. A code
/// below 0xF0 is an RTMP message type id and the body its payload; timestamps advance by 40 ms
/// per message. Codes 0xF0–0xF4 are the application's answers and connection events (their
/// body is ignored). A record cut short ends the script.
enum SessionScript {
    enum Step {
        case message(RTMPMessage)
        case accept
        case reject
        case stop
        case playbackEnded
        case connectionClosed
    }

    static let accept: UInt8 = 0xF0
    static let reject: UInt8 = 0xF1
    static let stop: UInt8 = 0xF2
    static let playbackEnded: UInt8 = 0xF3
    static let connectionClosed: UInt8 = 0xF4

    static func steps(of input: ByteBuffer) -> [Step] {
        var input = input
        var steps: [Step] = []
        var timestamp: UInt32 = 0
        while let code = input.readInteger(as: UInt8.self), let streamID = input.readInteger(as: UInt8.self),
              let length = input.readUInt24(), let body = input.readSlice(length: Int(length)) {
            switch code {
            case accept: steps.append(.accept)
            case reject: steps.append(.reject)
            case stop: steps.append(.stop)
            case playbackEnded: steps.append(.playbackEnded)
            case connectionClosed: steps.append(.connectionClosed)
            case 0xF5...: continue
            default:
                steps.append(.message(RTMPMessage(typeID: code, streamID: UInt32(streamID), timestamp: timestamp,
                                                  chunkStreamID: 3, payload: body)))
                timestamp &+= 40
            }
        }
        return steps
    }

    /// Appends one record (used to build the seed corpus).
    static func write(code: UInt8, streamID: UInt32 = 0, body: ByteBuffer = ByteBuffer(), into script: inout ByteBuffer) {
        script.writeInteger(code)
        script.writeInteger(UInt8(truncatingIfNeeded: streamID))
        script.writeUInt24(UInt32(body.readableBytes))
        script.writeImmutableBuffer(body)
    }
}
