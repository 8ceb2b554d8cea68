/// Errors of the RTMP layer. Every one ends the connection it happened on, and nothing else.
public struct RTMPError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case handshakeFailed
        case handshakeTimeout
        case malformedChunk
        case messageTooLarge
        case tooManyChunkStreams
        case bufferLimitExceeded
        case invalidChunkSize
        case malformedCommand
        /// A publish or play name, app or tcUrl that is too long or has characters no stream id has.
        case invalidStreamName
        case unexpectedMessage
        /// The server refused a client's connect, createStream or publish.
        case refused
        /// The connection ended (closed by the peer, reset, or an I/O error).
        case connectionClosed
    }

    public var code: Code
    public var context: String

    public init(_ code: Code, _ context: String) {
        self.code = code
        self.context = context
    }

    public var description: String { "rtmp \(code.rawValue): \(context)" }
}
