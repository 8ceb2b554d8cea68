import NIOConcurrencyHelpers

/// Every live session of a server by id (resource URLs) and by local ICE ufrag (binding
/// requests), shared by the HTTP side that makes and looks up sessions and the event loop that
/// routes datagrams; one lock.
final class SessionTable: Sendable {
    private struct Entries {
        var byID: [String: PeerSession] = [:]
        var byUfrag: [String: PeerSession] = [:]
    }

    // sessions are made by HTTP handlers on any loop and looked up by the WebRTC loop
    private let entries = NIOLockedValueBox(Entries())

    /// Registers `session` under its id and `ufrag`; false when `limit` sessions are already
    /// registered or the id or ufrag is taken.
    func insert(_ session: PeerSession, ufrag: String, limit: Int) -> Bool {
        entries.withLockedValue { entries in
            guard entries.byID.count < limit, entries.byID[session.id] == nil, entries.byUfrag[ufrag] == nil else { return false }
            entries.byID[session.id] = session
            entries.byUfrag[ufrag] = session
            return true
        }
    }

    /// Forgets `session` (both keys).
    func remove(_ session: PeerSession, ufrag: String) {
        entries.withLockedValue { entries in
            if entries.byID[session.id] === session { entries.byID[session.id] = nil }
            if entries.byUfrag[ufrag] === session { entries.byUfrag[ufrag] = nil }
        }
    }

    func session(id: String) -> PeerSession? {
        entries.withLockedValue { $0.byID[id] }
    }

    func session(ufrag: Substring) -> PeerSession? {
        entries.withLockedValue { $0.byUfrag[String(ufrag)] }
    }

    var all: [PeerSession] {
        entries.withLockedValue { Array($0.byID.values) }
    }

    var count: Int {
        entries.withLockedValue { $0.byID.count }
    }
}
