import NIOCore

/// The application behind the RTMP server: it decides who may publish and play, and takes the
/// media. RTMP code knows nothing of policies, buses or stores; it asks through this protocol.
public protocol RTMPServerDelegate: Sendable {
    /// Whether `request` may publish. Called off the event loop; the session holds the
    /// publisher's media until the answer arrives.
    func authorizePublish(_ request: StreamRequest, connection: RTMPConnection) async -> RTMPPublishAnswer
    /// Whether `request` may play.
    func authorizePlay(_ request: StreamRequest, connection: RTMPConnection) async -> RTMPPlayAnswer
}

public enum RTMPPublishAnswer: Sendable {
    case accept(any RTMPPublishSink)
    case reject(code: String, description: String)
}

public enum RTMPPlayAnswer: Sendable {
    case accept(any RTMPPlaySink)
    case reject(code: String, description: String)
}

/// Receives an accepted publisher's media. Called on the connection's event loop, in order.
public protocol RTMPPublishSink: Sendable {
    /// An audio, video or `onMetaData` message.
    func received(_ message: RTMPMessage)
    /// The publish ended; nothing more will be received.
    func ended(_ reason: PublishEndReason)
}

/// Sends a stream to an accepted player. Called on the connection's event loop.
public protocol RTMPPlaySink: Sendable {
    /// The play statuses are written; start writing pre-chunked media (`ByteBuffer`s) to
    /// `connection.channel` on message stream `streamID`.
    func start(streamID: UInt32)
    /// The channel's writability changed; resume writing if it became writable.
    func writabilityChanged(isWritable: Bool)
    /// The player left or the connection closed.
    func stopped()
}

/// A handle on one RTMP connection that is safe to keep and use from anywhere.
public struct RTMPConnection: Sendable {
    public let channel: any Channel
    /// `host:port` of the peer.
    public let remoteAddress: String

    /// The peer's IP address, without the port.
    public var clientIP: String? { channel.remoteAddress?.ipAddress }

    public init(channel: any Channel, remoteAddress: String) {
        self.channel = channel
        self.remoteAddress = remoteAddress
    }

    /// Ends the connection's publish or play with a status saying `description`, then closes it.
    public func stop(description: String) {
        channel.pipeline.fireUserInboundEventTriggered(RTMPConnectionEvent.stop(description: description))
    }

    /// The stream this connection plays has ended: send the end-of-stream statuses and close.
    public func endPlayback() {
        channel.pipeline.fireUserInboundEventTriggered(RTMPConnectionEvent.playbackEnded)
    }
}

/// Events sent down a connection's pipeline to its `RTMPServerHandler`.
enum RTMPConnectionEvent: Sendable {
    case stop(description: String)
    case playbackEnded
}
