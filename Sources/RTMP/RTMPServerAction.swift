/// What the server session asks its connection to do.
public enum RTMPServerAction: Sendable, Hashable {
    /// Encode and send this message with the connection's chunk encoder.
    case send(RTMPMessage)
    /// Chunk outbound messages at this size from now on (a Set Chunk Size was just queued).
    case setOutboundChunkSize(Int)
    /// Ask the application whether this publish may go ahead; answer with `decided(_:)`.
    case requestPublish(StreamRequest)
    /// Ask the application whether this play may go ahead; answer with `decided(_:)`.
    case requestPlay(StreamRequest)
    /// The play statuses are queued; media for message stream `streamID` may follow.
    case startPlayback(streamID: UInt32)
    /// Audio, video or `onMetaData` (AMF0, `@setDataFrame` removed) from the publisher.
    case media(RTMPMessage)
    case publishEnded(PublishEndReason)
    case playEnded
    /// Flush what is queued, then close the connection.
    case close(reason: String)
}

/// Why a publish session ended, from the protocol's point of view.
public enum PublishEndReason: String, Sendable, Hashable {
    /// `FCUnpublish`, `deleteStream` or `closeStream`.
    case unpublished
    /// The connection went away without an unpublish.
    case disconnected
    /// The server ended it (shutdown or kick).
    case stopped
    /// The peer broke the protocol.
    case protocolError
}
