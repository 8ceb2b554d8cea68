/// Decides what one node does with each command it reads from `sluice.commands`: a pure state
/// machine (no bus, no sockets), so the "who acts" rule is tested on its own.
///
/// - `publisher.kick` is carried out only by the node holding a publisher of the stream (and
///   of the named session, when one is named). The cluster's publish lock lets one node hold a
///   stream, so one node acts.
/// - `viewers.drop` is carried out by every node with viewers of the stream.
/// - `settings.reload` by every node.
/// - A command id seen before is ignored, whichever node it came from; the ledger remembers
///   the last `capacity` ids (commands are rare: thousands cover far more than any redelivery).
public struct CommandLedger: Sendable {
    /// What this node holds now, as the ledger asks it.
    public struct Holdings {
        /// The publish session of `stream` on this node; nil when it publishes elsewhere or not at all.
        public var publisherSession: (StreamID) -> UInt64?
        /// Whether this node has viewers of `stream`.
        public var hasViewers: (StreamID) -> Bool

        public init(publisherSession: @escaping (StreamID) -> UInt64?, hasViewers: @escaping (StreamID) -> Bool) {
            self.publisherSession = publisherSession
            self.hasViewers = hasViewers
        }
    }

    /// What to do with one command.
    public enum Decision: Sendable, Hashable {
        /// Stop this node's publisher of the stream, in this session, telling it why.
        case kick(StreamID, session: UInt64, reason: String)
        /// Disconnect this node's viewers of the stream.
        case dropViewers(StreamID)
        /// Reload the shared settings.
        case reloadSettings
        /// Another node's business (or nobody's): nothing to do here.
        case notHere
        /// The id was carried out (or passed over) before.
        case duplicate
    }

    public let capacity: Int
    private var seen: Set<String> = []
    private var order: [String] = []
    private var oldest = 0

    /// - Parameter capacity: how many command ids are remembered; default 4096.
    public init(capacity: Int = 4096) {
        self.capacity = max(1, capacity)
    }

    /// The decision for `command` on a node holding `holdings`; remembers its id.
    public mutating func decide(_ command: ClusterCommand, holdings: Holdings) -> Decision {
        guard remember(command.id) else { return .duplicate }
        switch command.action {
        case .kickPublisher(let kick):
            guard let session = holdings.publisherSession(kick.streamID),
                  kick.sessionID.map({ $0 == session }) ?? true else { return .notHere }
            return .kick(kick.streamID, session: session, reason: kick.reason)
        case .dropViewers(let drop):
            return holdings.hasViewers(drop.streamID) ? .dropViewers(drop.streamID) : .notHere
        case .reloadSettings:
            return .reloadSettings
        }
    }

    /// Adds `id`; false when it was already there. The oldest id is forgotten past `capacity`.
    private mutating func remember(_ id: String) -> Bool {
        guard seen.insert(id).inserted else { return false }
        if order.count < capacity {
            order.append(id)
        } else {
            seen.remove(order[oldest])
            order[oldest] = id
            oldest = (oldest + 1) % capacity
        }
        return true
    }
}
