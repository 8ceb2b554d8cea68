import Events
import NIOConcurrencyHelpers
import RTMP

/// The publishers connected to this node, so an operator can stop one (`DELETE /streams/{id}`).
public final class PublisherRegistry: Sendable {
    private let publishers = NIOLockedValueBox([StreamID: (sessionID: UInt64, connection: RTMPConnection)]())

    public init() {}

    func add(_ publisher: StreamPublisher, connection: RTMPConnection) {
        publishers.withLockedValue { $0[publisher.streamID] = (publisher.sessionID, connection) }
    }

    func remove(_ publisher: StreamPublisher) {
        publishers.withLockedValue { publishers in
            if publishers[publisher.streamID]?.sessionID == publisher.sessionID { publishers[publisher.streamID] = nil }
        }
    }

    /// Stops the publisher of `stream` with an `onStatus` saying why; `false` if none is here.
    public func kick(_ stream: StreamID, description: String = "Stopped by an operator.") -> Bool {
        guard let entry = publishers.withLockedValue({ $0[stream] }) else { return false }
        entry.connection.stop(description: description)
        return true
    }
}
