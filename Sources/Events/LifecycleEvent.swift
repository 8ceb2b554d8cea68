import Foundation

/// `stream.online`: a publisher was accepted and its stream is live.
public struct StreamOnline: Codable, Sendable, Hashable {
    public var streamID: StreamID
    public var sessionID: UInt64
    /// The ingest node that holds the publisher.
    public var node: String
    /// Remote address of the encoder, `host:port`.
    public var client: String
    public var protocolName: String

    public init(streamID: StreamID, sessionID: UInt64, node: String, client: String, protocolName: String) {
        self.streamID = streamID
        self.sessionID = sessionID
        self.node = node
        self.client = client
        self.protocolName = protocolName
    }

    enum CodingKeys: String, CodingKey {
        case streamID = "streamId", sessionID = "sessionId", node, client, protocolName = "protocol"
    }
}

/// `stream.offline`: the publish session ended.
public struct StreamOffline: Codable, Sendable, Hashable {
    public enum Reason: String, Codable, Sendable {
        /// The encoder sent `FCUnpublish`/`deleteStream`.
        case unpublished
        /// The connection closed or failed without an unpublish.
        case disconnected
        /// An operator or the server stopped the stream (shutdown, kick).
        case stopped
        /// The encoder sent bytes the server could not accept.
        case protocolError
        /// The ingest node holding the publisher stopped beating; a surviving node ended the
        /// session (cluster session state).
        case nodeLost
    }

    public var streamID: StreamID
    public var sessionID: UInt64
    public var reason: Reason
    /// Media bytes received in the session.
    public var bytes: UInt64
    /// Seconds from online to offline.
    public var durationSeconds: Double

    public init(streamID: StreamID, sessionID: UInt64, reason: Reason, bytes: UInt64, durationSeconds: Double) {
        self.streamID = streamID
        self.sessionID = sessionID
        self.reason = reason
        self.bytes = bytes
        self.durationSeconds = durationSeconds
    }

    enum CodingKeys: String, CodingKey {
        case streamID = "streamId", sessionID = "sessionId", reason, bytes, durationSeconds
    }
}

/// `publish.rejected`: a publisher was refused before going live.
public struct PublishRejected: Codable, Sendable, Hashable {
    public var streamID: String
    /// The `onStatus` code sent, e.g. `NetStream.Publish.Unauthorized`.
    public var code: String
    public var reason: String
    public var client: String

    public init(streamID: String, code: String, reason: String, client: String) {
        self.streamID = streamID
        self.code = code
        self.reason = reason
        self.client = client
    }

    enum CodingKeys: String, CodingKey { case streamID = "streamId", code, reason, client }
}

/// Everything on `sluice.stream.lifecycle`: streams going on and off, refused publishers, relays,
/// motion, health warnings.
public enum LifecycleEvent: Sendable, Hashable {
    case online(StreamOnline)
    case offline(StreamOffline)
    case publishRejected(PublishRejected)
    case relayStarted(RelayEvent)
    case relayFailed(RelayEvent)
    case motionStarted(MotionEvent)
    case motionEnded(MotionEvent)
    case health(StreamHealthChanged)

    /// The envelope `type` of this event.
    public var type: String {
        switch self {
        case .online: return "stream.online"
        case .offline: return "stream.offline"
        case .publishRejected: return "publish.rejected"
        case .relayStarted: return "relay.started"
        case .relayFailed: return "relay.failed"
        case .motionStarted: return "motion.started"
        case .motionEnded: return "motion.ended"
        case .health: return "stream.health"
        }
    }

    /// The record key: the stream id.
    public var key: String {
        switch self {
        case .online(let event): return event.streamID.rawValue
        case .offline(let event): return event.streamID.rawValue
        case .publishRejected(let event): return event.streamID
        case .relayStarted(let event), .relayFailed(let event): return event.streamID.rawValue
        case .motionStarted(let event), .motionEnded(let event): return event.streamID.rawValue
        case .health(let event): return event.streamID.rawValue
        }
    }
}
