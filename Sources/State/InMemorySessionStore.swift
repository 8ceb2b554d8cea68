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
        /// Per stream, by rendition ("" the source).
        var headers: [StreamID: [String: [MediaFrame]]] = [:]
        var segmentStarts: [StreamID: [String: [Int64]]] = [:]
        /// Outlives the stream's sessions (`forget` keeps it).
        var continuations: [StreamID: SegmentCutter.Continuation] = [:]

        mutating func forget(_ stream: StreamID) {
            live[stream] = nil
            keyframes[stream] = nil
            headers[stream] = nil
            segmentStarts[stream] = nil
        }
    }

    /// All of it: each call is a few dictionary steps that never suspend, so a lock, not an actor.
    private let state = NIOLockedValueBox(State())
    /// Viewer reports and stream history (InMemorySessionStore+Viewers.swift).
    let viewerRecords = InMemoryViewerRecords()
    /// Health warnings (InMemorySessionStore+Health.swift).
    let healthRecords = InMemoryHealthRecords()

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
        state.withLockedValue { state in
            // A new session starts with nothing recorded (a crashed node's leftovers go).
            if let current = state.live[session.streamID], current.sessionID != session.sessionID { state.forget(session.streamID) }
            state.live[session.streamID] = session
        }
    }

    public func markOffline(_ stream: StreamID, sessionID: UInt64) async throws {
        state.withLockedValue { state in
            if state.live[stream]?.sessionID == sessionID { state.forget(stream) }
        }
    }

    public func recordKeyframe(_ stream: StreamID, sessionID: UInt64, offset: Int64) async throws {
        state.withLockedValue { state in
            if state.live[stream]?.sessionID == sessionID { state.keyframes[stream] = offset }
        }
    }

    public func recordHeaders(_ stream: StreamID, rendition: String, sessionID: UInt64, headers: [MediaFrame]) async throws {
        state.withLockedValue { state in
            if state.live[stream]?.sessionID == sessionID { state.headers[stream, default: [:]][rendition] = headers }
        }
    }

    public func recordSegmentStart(_ stream: StreamID, rendition: String, sessionID: UInt64, offset: Int64) async throws {
        state.withLockedValue { state in
            guard state.live[stream]?.sessionID == sessionID else { return }
            var starts = state.segmentStarts[stream, default: [:]][rendition, default: []]
            starts.append(offset)
            state.segmentStarts[stream, default: [:]][rendition] = starts.suffix(Self.segmentStartsKept)
        }
    }

    public func playbackStart(of stream: StreamID) async throws -> PlaybackStart? {
        state.withLockedValue { state in
            guard let session = state.live[stream] else { return nil }
            return PlaybackStart(sessionID: session.sessionID, headers: state.headers[stream]?[""] ?? [],
                                 keyframeOffset: state.keyframes[stream])
        }
    }

    public func packagingStart(of stream: StreamID) async throws -> PackagingStart? {
        state.withLockedValue { state in
            guard let session = state.live[stream] else { return nil }
            let headers = state.headers[stream] ?? [:]
            let starts = state.segmentStarts[stream] ?? [:]
            var tracks: [String: PackagingStart.Track] = [:]
            for rendition in Set(headers.keys).union(starts.keys).union([""]) {
                let fallback = rendition.isEmpty ? state.keyframes[stream] : nil
                tracks[rendition] = PackagingStart.Track(headers: headers[rendition] ?? [],
                                                         offset: starts[rendition]?.first ?? fallback)
            }
            return PackagingStart(sessionID: session.sessionID, tracks: tracks)
        }
    }

    public func recordContinuation(_ stream: StreamID, _ continuation: SegmentCutter.Continuation) async throws {
        state.withLockedValue { $0.continuations[stream] = continuation }
    }

    public func continuation(of stream: StreamID) async throws -> SegmentCutter.Continuation? {
        state.withLockedValue { $0.continuations[stream] }
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
            state.forget(session.streamID)
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
