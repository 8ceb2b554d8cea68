import NIOCore

/// RTMP message type ids (RTMP specification 1.0 §5.4, §7.1).
public enum RTMPMessageType: UInt8, Sendable {
    case setChunkSize = 1
    case abort = 2
    case acknowledgement = 3
    case userControl = 4
    case windowAcknowledgementSize = 5
    case setPeerBandwidth = 6
    case audio = 8
    case video = 9
    case dataAMF3 = 15
    case sharedObjectAMF3 = 16
    case commandAMF3 = 17
    case dataAMF0 = 18
    case sharedObjectAMF0 = 19
    case commandAMF0 = 20
    case aggregate = 22
}

/// One complete RTMP message, reassembled from chunks or about to be split into them.
public struct RTMPMessage: Sendable, Hashable {
    /// The raw type id; `type` interprets it.
    public var typeID: UInt8
    /// Message stream id: 0 for the connection, the id `createStream` returned for a stream.
    public var streamID: UInt32
    /// Milliseconds; wraps at 32 bits (RTMP spec §5.3.1.3).
    public var timestamp: UInt32
    /// The chunk stream the message arrived on or is to be sent on.
    public var chunkStreamID: UInt32
    public var payload: ByteBuffer

    public init(typeID: UInt8, streamID: UInt32, timestamp: UInt32, chunkStreamID: UInt32, payload: ByteBuffer) {
        self.typeID = typeID
        self.streamID = streamID
        self.timestamp = timestamp
        self.chunkStreamID = chunkStreamID
        self.payload = payload
    }

    public init(type: RTMPMessageType, streamID: UInt32 = 0, timestamp: UInt32 = 0, chunkStreamID: UInt32,
                payload: ByteBuffer) {
        self.init(typeID: type.rawValue, streamID: streamID, timestamp: timestamp, chunkStreamID: chunkStreamID,
                  payload: payload)
    }

    public var type: RTMPMessageType? { RTMPMessageType(rawValue: typeID) }
}

/// The chunk streams Sluice sends on. The connection's own encoder uses `control` and
/// `command`; media for players is pre-chunked once per stream on `audio`, `data` and `video`
/// with type-0 headers, so the two never share header-compression state.
public enum RTMPChunkStream {
    public static let control: UInt32 = 2
    public static let command: UInt32 = 3
    public static let audio: UInt32 = 4
    public static let data: UInt32 = 5
    public static let video: UInt32 = 6
}

/// Protocol-wide constants Sluice sends.
public enum RTMPDefaults {
    /// The chunk size Sluice announces and sends with. 4096 keeps header overhead under 0.3 %.
    public static let outboundChunkSize = 4096
    /// The message stream id `createStream` hands out first.
    public static let firstStreamID: UInt32 = 1
}
