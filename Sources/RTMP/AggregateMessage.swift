import Media
import NIOCore

/// Splits an aggregate message (type 22, RTMP specification 1.0 §7.1.6) into its sub-messages:
/// FLV-style tags whose timestamps are offsets from the first one.
enum AggregateMessage {
    static func split(_ message: RTMPMessage) throws -> [RTMPMessage] {
        var body = message.payload
        var messages: [RTMPMessage] = []
        var base: UInt32?
        while body.readableBytes > 0 {
            guard let type = body.readInteger(as: UInt8.self), let size = body.readUInt24(),
                  let low = body.readUInt24(), let high = body.readInteger(as: UInt8.self),
                  body.readUInt24() != nil, let payload = body.readSlice(length: Int(size)),
                  body.readInteger(as: UInt32.self) != nil else {
                throw RTMPError(.malformedChunk, "truncated aggregate message")
            }
            let timestamp = UInt32(high) << 24 | low
            let first = base ?? timestamp
            base = first
            messages.append(RTMPMessage(typeID: type, streamID: message.streamID,
                                        timestamp: message.timestamp &+ (timestamp &- first),
                                        chunkStreamID: message.chunkStreamID, payload: payload))
        }
        return messages
    }
}
