import Foundation

/// `relay.started` and `relay.failed`: a relay of a live stream reached its destination, or
/// gave up on it. The destination is written without its stream key.
public struct RelayEvent: Codable, Sendable, Hashable {
    public var streamID: StreamID
    public var sessionID: UInt64
    /// `rtmps://host:port/app/…`: no part of the stream key.
    public var destination: String
    /// Reconnects so far in this publish session.
    public var reconnects: Int
    /// Why it failed (`relay.failed` only): the destination's status code and description.
    public var error: String?

    public init(streamID: StreamID, sessionID: UInt64, destination: String, reconnects: Int, error: String? = nil) {
        self.streamID = streamID
        self.sessionID = sessionID
        self.destination = destination
        self.reconnects = reconnects
        self.error = error
    }

    enum CodingKeys: String, CodingKey { case streamID = "streamId", sessionID = "sessionId", destination, reconnects, error }
}
