import Foundation

/// Where one relay of a live stream stands, as session state records it and the API shows it.
public struct RelayStatus: Codable, Sendable, Hashable {
    public enum State: String, Codable, Sendable, Hashable {
        /// Connecting, or waiting for the destination to accept the publish.
        case connecting
        /// Publishing to the destination.
        case live
        /// The connection dropped; the next attempt comes after a backoff.
        case retrying
        /// The destination refused (a wrong key, say); not retried for this publish session.
        case failed
    }

    /// The destination without its stream key.
    public var destination: String
    public var state: State
    /// Bytes written to the destination in this publish session.
    public var bytesSent: Int
    public var reconnects: Int
    public var lastError: String?
    /// When `state` last changed.
    public var since: Date

    public init(destination: String, state: State, bytesSent: Int = 0, reconnects: Int = 0, lastError: String? = nil,
                since: Date = Date()) {
        self.destination = destination
        self.state = state
        self.bytesSent = bytesSent
        self.reconnects = reconnects
        self.lastError = lastError
        self.since = since
    }
}
