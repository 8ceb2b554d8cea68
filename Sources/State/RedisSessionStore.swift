import Events
import Foundation
import NIOCore

/// Session state in Redis, for a cluster: the same contract as `InMemorySessionStore`, with the
/// keys of DESIGN.md. Checks and changes that must not interleave with another node's run as
/// Lua scripts (atomic in Redis): re-taking one's own lock, renewing and releasing only one's
/// own lock, recording a session with its live-set entry, and ending a session only if it is
/// still the live one.
///
/// - `sluice:lock:publish:{id}`: the publish lock, its value the owner, with a TTL.
/// - `sluice:stream:{id}`: hash with `sessionId` and `session` (the session as JSON), and what
///   readers joining mid-session need: `keyframeOffset`, `headers` (the source's), and per
///   rendition `headers:{rendition}` and `segmentStarts:{rendition}` (offsets, oldest first,
///   space-separated; the source's rendition is empty).
/// - `sluice:streams:live`: set of live stream ids.
/// - `sluice:stream:{id}:relays`: the relay worker's statuses as JSON.
/// - `sluice:node:{node}`: a node's heartbeat, with a TTL.
public final class RedisSessionStore: SessionStore {
    let redis: RedisClient

    public init(redis: RedisClient) {
        self.redis = redis
    }

    static func lockKey(_ stream: StreamID) -> String { "sluice:lock:publish:\(stream.rawValue)" }
    static func streamKey(_ stream: StreamID) -> String { "sluice:stream:\(stream.rawValue)" }
    static func relaysKey(_ stream: StreamID) -> String { "sluice:stream:\(stream.rawValue):relays" }
    static func continuationKey(_ stream: StreamID) -> String { "sluice:stream:\(stream.rawValue):continuation" }
    static let liveKey = "sluice:streams:live"
    static func nodeKey(_ node: String) -> String { "sluice:node:\(node)" }

    private static let offline = """
        if redis.call('HGET', KEYS[1], 'sessionId') == ARGV[1] then
          redis.call('DEL', KEYS[1])
          redis.call('SREM', KEYS[2], ARGV[2])
        end
        return 0
        """
    private static let markLive = """
        local current = redis.call('HGET', KEYS[1], 'sessionId')
        if current and current ~= ARGV[1] then redis.call('DEL', KEYS[1]) end
        redis.call('HSET', KEYS[1], 'sessionId', ARGV[1], 'session', ARGV[2])
        redis.call('SADD', KEYS[2], ARGV[3])
        return 0
        """
    /// Sets field ARGV[2] to ARGV[3] if the session is still ARGV[1].
    private static let setIfCurrent = """
        if redis.call('HGET', KEYS[1], 'sessionId') == ARGV[1] then redis.call('HSET', KEYS[1], ARGV[2], ARGV[3]) end
        return 0
        """
    /// Appends offset ARGV[3] to the space-separated list in field ARGV[2], keeping the newest
    /// ARGV[4], if the session is still ARGV[1].
    private static let appendSegmentStart = """
        if redis.call('HGET', KEYS[1], 'sessionId') ~= ARGV[1] then return 0 end
        local offsets = {}
        for offset in string.gmatch(redis.call('HGET', KEYS[1], ARGV[2]) or '', '%S+') do table.insert(offsets, offset) end
        table.insert(offsets, ARGV[3])
        while #offsets > tonumber(ARGV[4]) do table.remove(offsets, 1) end
        redis.call('HSET', KEYS[1], ARGV[2], table.concat(offsets, ' '))
        return 0
        """
    private static let endLost = """
        if redis.call('HGET', KEYS[1], 'sessionId') ~= ARGV[1] then return 0 end
        redis.call('DEL', KEYS[1])
        redis.call('SREM', KEYS[2], ARGV[2])
        local owner = redis.call('GET', KEYS[3])
        if owner and string.sub(owner, 1, string.len(ARGV[3]) + 1) == ARGV[3] .. '/' then redis.call('DEL', KEYS[3]) end
        return 1
        """
    private static let live = """
        local sessions = {}
        for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
          local session = redis.call('HGET', 'sluice:stream:' .. id, 'session')
          if session then table.insert(sessions, session) end
        end
        return sessions
        """

    public func acquirePublishLock(_ stream: StreamID, owner: String, ttl: Duration) async throws -> Bool {
        try await eval(RedisLockScripts.acquire, keys: [Self.lockKey(stream)], [owner, RedisLockScripts.milliseconds(ttl)]).integer == 1
    }

    public func renewPublishLock(_ stream: StreamID, owner: String, ttl: Duration) async throws -> Bool {
        try await eval(RedisLockScripts.renew, keys: [Self.lockKey(stream)], [owner, RedisLockScripts.milliseconds(ttl)]).integer == 1
    }

    public func releasePublishLock(_ stream: StreamID, owner: String) async throws {
        _ = try await eval(RedisLockScripts.release, keys: [Self.lockKey(stream)], [owner])
    }

    public func markLive(_ session: StreamSession) async throws {
        let json = String(decoding: try Self.encoder.encode(session), as: UTF8.self)
        _ = try await eval(Self.markLive, keys: [Self.streamKey(session.streamID), Self.liveKey],
                           [String(session.sessionID), json, session.streamID.rawValue])
    }

    public func markOffline(_ stream: StreamID, sessionID: UInt64) async throws {
        _ = try await eval(Self.offline, keys: [Self.streamKey(stream), Self.liveKey], [String(sessionID), stream.rawValue])
    }

    public func liveSessions() async throws -> [StreamSession] {
        guard case .array(let values) = try await eval(Self.live, keys: [Self.liveKey], []) else { return [] }
        return try values.compactMap(\.string).map(Self.decodeSession).sorted { $0.streamID < $1.streamID }
    }

    public func session(_ stream: StreamID) async throws -> StreamSession? {
        guard let json = try await redis.command(["HGET", Self.streamKey(stream), "session"]).string else { return nil }
        return try Self.decodeSession(json)
    }

    public func recordKeyframe(_ stream: StreamID, sessionID: UInt64, offset: Int64) async throws {
        _ = try await eval(Self.setIfCurrent, keys: [Self.streamKey(stream)], [String(sessionID), "keyframeOffset", String(offset)])
    }

    /// Headers are kept as the media-frame codec's bytes, base64 in a JSON array.
    public func recordHeaders(_ stream: StreamID, rendition: String, sessionID: UInt64, headers: [MediaFrame]) async throws {
        let encoded = headers.map { Data(MediaFrameCodec.encode($0).readableBytesView).base64EncodedString() }
        let json = String(decoding: try Self.encoder.encode(encoded), as: UTF8.self)
        _ = try await eval(Self.setIfCurrent, keys: [Self.streamKey(stream)], [String(sessionID), Self.headersField(rendition), json])
    }

    public func recordSegmentStart(_ stream: StreamID, rendition: String, sessionID: UInt64, offset: Int64) async throws {
        _ = try await eval(Self.appendSegmentStart, keys: [Self.streamKey(stream)],
                           [String(sessionID), "segmentStarts:\(rendition)", String(offset), String(Self.segmentStartsKept)])
    }

    public func playbackStart(of stream: StreamID) async throws -> PlaybackStart? {
        guard case .array(let fields) = try await redis.command(["HMGET", Self.streamKey(stream), "sessionId", "headers", "keyframeOffset"]),
              fields.count == 3, let session = fields[0].string.flatMap({ UInt64($0) }) else { return nil }
        return PlaybackStart(sessionID: session, headers: try Self.decodeHeaders(fields[1].string),
                             keyframeOffset: fields[2].string.flatMap { Int64($0) })
    }

    /// One `HGETALL`: the source's fields and every rendition's.
    public func packagingStart(of stream: StreamID) async throws -> PackagingStart? {
        guard case .array(let flat) = try await redis.command(["HGETALL", Self.streamKey(stream)]) else { return nil }
        var fields: [String: String] = [:]
        for index in stride(from: 0, to: flat.count - 1, by: 2) {
            if let name = flat[index].string, let value = flat[index + 1].string { fields[name] = value }
        }
        guard let session = fields["sessionId"].flatMap({ UInt64($0) }) else { return nil }
        var tracks: [String: PackagingStart.Track] = ["": PackagingStart.Track(headers: [], offset: nil)]
        for name in fields.keys {
            for prefix in ["headers:", "segmentStarts:"] where name.hasPrefix(prefix) {
                tracks[String(name.dropFirst(prefix.count))] = PackagingStart.Track(headers: [], offset: nil)
            }
        }
        for rendition in tracks.keys {
            let starts = fields["segmentStarts:\(rendition)"]?.split(separator: " ").compactMap { Int64($0) } ?? []
            let fallback = rendition.isEmpty ? fields["keyframeOffset"].flatMap { Int64($0) } : nil
            tracks[rendition] = PackagingStart.Track(headers: try Self.decodeHeaders(fields[Self.headersField(rendition)]),
                                                     offset: starts.first ?? fallback)
        }
        return PackagingStart(sessionID: session, tracks: tracks)
    }

    /// The source's headers keep their field name from before renditions had any.
    private static func headersField(_ rendition: String) -> String { rendition.isEmpty ? "headers" : "headers:\(rendition)" }

    private static func decodeHeaders(_ json: String?) throws -> [MediaFrame] {
        guard let json else { return [] }
        var headers: [MediaFrame] = []
        for base64 in try decoder.decode([String].self, from: Data(json.utf8)) {
            guard let bytes = Data(base64Encoded: base64) else { continue }
            headers.append(try MediaFrameCodec.decode(ByteBuffer(bytes: bytes)))
        }
        return headers
    }

    public func heartbeat(node: String, ttl: Duration) async throws {
        _ = try await redis.command(["SET", Self.nodeKey(node), "1", "PX", RedisLockScripts.milliseconds(ttl)])
    }

    public func isAlive(node: String) async throws -> Bool {
        try await redis.command(["EXISTS", Self.nodeKey(node)]).integer == 1
    }

    public func endSessionOfLostNode(_ session: StreamSession) async throws -> Bool {
        try await eval(Self.endLost, keys: [Self.streamKey(session.streamID), Self.liveKey, Self.lockKey(session.streamID)],
                       [String(session.sessionID), session.streamID.rawValue, session.node]).integer == 1
    }

    public func setRelayStatuses(_ statuses: [RelayStatus], of stream: StreamID) async throws {
        if statuses.isEmpty {
            _ = try await redis.command(["DEL", Self.relaysKey(stream)])
        } else {
            _ = try await redis.command(["SET", Self.relaysKey(stream), String(decoding: try Self.encoder.encode(statuses), as: UTF8.self)])
        }
    }

    public func recordContinuation(_ stream: StreamID, _ continuation: SegmentCutter.Continuation) async throws {
        _ = try await redis.command(["SET", Self.continuationKey(stream), "\(continuation.segment):\(continuation.discontinuity)",
                                     "EX", "604800"])
    }

    /// "segment:discontinuity"; anything else stored there counts as nothing noted.
    public func continuation(of stream: StreamID) async throws -> SegmentCutter.Continuation? {
        guard let text = try await redis.command(["GET", Self.continuationKey(stream)]).string else { return nil }
        let numbers = text.split(separator: ":").compactMap { UInt32($0) }
        guard numbers.count == 2 else { return nil }
        return SegmentCutter.Continuation(segment: numbers[0], discontinuity: numbers[1])
    }

    public func relayStatuses(of stream: StreamID) async throws -> [RelayStatus] {
        guard let json = try await redis.command(["GET", Self.relaysKey(stream)]).string else { return [] }
        return try Self.decoder.decode([RelayStatus].self, from: Data(json.utf8))
    }

    private func eval(_ script: String, keys: [String], _ arguments: [String]) async throws -> RedisValue {
        try await redis.command(["EVAL", script, String(keys.count)] + keys + arguments)
    }


    private static func decodeSession(_ json: String) throws -> StreamSession {
        do {
            return try decoder.decode(StreamSession.self, from: Data(json.utf8))
        } catch {
            throw StateError(.storage, "Redis holds a session that does not decode: \(error)")
        }
    }

    /// Dates as numbers: they come back exactly as they went in.
    private static var encoder: JSONEncoder { JSONEncoder() }
    private static var decoder: JSONDecoder { JSONDecoder() }
}
