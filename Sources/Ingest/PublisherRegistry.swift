import Events
import NIOConcurrencyHelpers

/// The publishers connected to this node, so an operator can stop one (`DELETE /streams/{id}`).
public final class PublisherRegistry: Sendable {
    private struct Entry {
        var sessionID: UInt64
        var connection: any PublishingConnection
        /// The push secret the publish was signed with.
        var secret: String
    }

    /// Changed as publishes start and end, read by API and command tasks; a lock because `kick`, `count`
    /// and `session` are synchronous.
    private let publishers = NIOLockedValueBox([StreamID: Entry]())

    public init() {}

    func add(_ publisher: StreamPublisher, connection: any PublishingConnection, secret: String) {
        publishers.withLockedValue { $0[publisher.streamID] = Entry(sessionID: publisher.sessionID, connection: connection, secret: secret) }
    }

    /// Every publisher here, with its session and the secret its publish was signed with.
    func signedWith() -> [(stream: StreamID, session: UInt64, secret: String)] {
        publishers.withLockedValue { $0.map { ($0.key, $0.value.sessionID, $0.value.secret) } }
    }

    func remove(_ publisher: StreamPublisher) {
        publishers.withLockedValue { publishers in
            if publishers[publisher.streamID]?.sessionID == publisher.sessionID { publishers[publisher.streamID] = nil }
        }
    }

    /// Publishers connected to this node now.
    public var count: Int { publishers.withLockedValue { $0.count } }

    /// The publish session of `stream` on this node; nil when it is not published here.
    public func session(of stream: StreamID) -> UInt64? {
        publishers.withLockedValue { $0[stream]?.sessionID }
    }

    /// Stops the publisher of `stream`, saying why where its protocol can (RTMP's `onStatus`); `false` if none is here.
    /// With `session`, only that publish session is stopped (not one that replaced it).
    public func kick(_ stream: StreamID, session: UInt64? = nil, description: String = "Stopped by an operator.") -> Bool {
        guard let entry = publishers.withLockedValue({ $0[stream] }), session.map({ $0 == entry.sessionID }) ?? true else {
            return false
        }
        entry.connection.stop(description: description)
        return true
    }
}
