import Events
import NIOConcurrencyHelpers
import NIOCore

/// Session state for `sluice serve`: everything in one process, behind one lock.
public final class InMemorySessionStore: SessionStore {
    private struct Lock {
        var owner: String
        var expiresAt: NIODeadline
    }

    private struct State {
        var locks: [StreamID: Lock] = [:]
        var live: [StreamID: StreamSession] = [:]
        var relays: [StreamID: [RelayStatus]] = [:]
        var nodes: [String: NIODeadline] = [:]
        var keyframes: [StreamID: Int64] = [:]
        var headers: [StreamID: [MediaFrame]] = [:]
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    public func acquirePublishLock(_ stream: StreamID, owner: String, ttl: Duration) async throws -> Bool {
        let now = NIODeadline.now()
        return state.withLockedValue { state in
            if let lock = state.locks[stream], lock.owner != owner, lock.expiresAt > now { return false }
            state.locks[stream] = Lock(owner: owner, expiresAt: now + TimeAmount(ttl))
            return true
        }
    }

    public func renewPublishLock(_ stream: StreamID, owner: String, ttl: Duration) async throws -> Bool {
        let now = NIODeadline.now()
        return state.withLockedValue { state in
            guard let lock = state.locks[stream], lock.owner == owner, lock.expiresAt > now else { return false }
            state.locks[stream]?.expiresAt = now + TimeAmount(ttl)
            return true
        }
    }

    public func releasePublishLock(_ stream: StreamID, owner: String) async throws {
        state.withLockedValue { state in
            if state.locks[stream]?.owner == owner { state.locks[stream] = nil }
        }
    }

    public func markLive(_ session: StreamSession) async throws {
        state.withLockedValue { $0.live[session.streamID] = session }
    }

    public func markOffline(_ stream: StreamID, sessionID: UInt64) async throws {
        state.withLockedValue { state in
            if state.live[stream]?.sessionID == sessionID {
                state.live[stream] = nil
                state.keyframes[stream] = nil
                state.headers[stream] = nil
            }
        }
    }

    public func recordKeyframe(_ stream: StreamID, sessionID: UInt64, offset: Int64) async throws {
        state.withLockedValue { state in
            if state.live[stream]?.sessionID == sessionID { state.keyframes[stream] = offset }
        }
    }

    public func recordHeaders(_ stream: StreamID, sessionID: UInt64, headers: [MediaFrame]) async throws {
        state.withLockedValue { state in
            if state.live[stream]?.sessionID == sessionID { state.headers[stream] = headers }
        }
    }

    public func playbackStart(of stream: StreamID) async throws -> PlaybackStart? {
        state.withLockedValue { state in
            guard let session = state.live[stream] else { return nil }
            return PlaybackStart(sessionID: session.sessionID, headers: state.headers[stream] ?? [],
                                 keyframeOffset: state.keyframes[stream])
        }
    }

    public func liveSessions() async throws -> [StreamSession] {
        state.withLockedValue { Array($0.live.values) }.sorted { $0.streamID < $1.streamID }
    }

    public func session(_ stream: StreamID) async throws -> StreamSession? {
        state.withLockedValue { $0.live[stream] }
    }

    public func heartbeat(node: String, ttl: Duration) async throws {
        let expiry = NIODeadline.now() + TimeAmount(ttl)
        state.withLockedValue { $0.nodes[node] = expiry }
    }

    public func isAlive(node: String) async throws -> Bool {
        let now = NIODeadline.now()
        return state.withLockedValue { ($0.nodes[node] ?? .distantPast) > now }
    }

    public func endSessionOfLostNode(_ session: StreamSession) async throws -> Bool {
        state.withLockedValue { state in
            guard state.live[session.streamID]?.sessionID == session.sessionID else { return false }
            state.live[session.streamID] = nil
            state.keyframes[session.streamID] = nil
            state.headers[session.streamID] = nil
            if state.locks[session.streamID]?.owner.hasPrefix(session.node + "/") == true { state.locks[session.streamID] = nil }
            return true
        }
    }

    public func setRelayStatuses(_ statuses: [RelayStatus], of stream: StreamID) async throws {
        state.withLockedValue { $0.relays[stream] = statuses.isEmpty ? nil : statuses }
    }

    public func relayStatuses(of stream: StreamID) async throws -> [RelayStatus] {
        state.withLockedValue { $0.relays[stream] ?? [] }
    }
}
