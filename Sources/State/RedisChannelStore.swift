import Events
import Foundation

/// Channels in Redis, for a cluster: the same contract as `SQLiteChannelStore`.
///
/// - `sluice:channel:{id}`: hash with `document` (the channel as JSON), `revision`, `name`
///   (lowercased, for search), `pushSecret`, `sequence`, and the watermark image as `image`
///   (base64) when there is one.
/// - `sluice:channels`: sorted set of channel ids by creation sequence (the listing order).
/// - `sluice:channels:sequence`: the last sequence given out.
///
/// Every write is one Lua script (atomic in Redis) that checks the revision it read, so
/// concurrent writers on any node cannot lose each other's updates.
public final class RedisChannelStore: ChannelStore {
    private let redis: RedisClient

    public init(redis: RedisClient) {
        self.redis = redis
    }

    static func channelKey(_ id: ChannelID) -> String { "sluice:channel:\(id.description)" }
    static let listKey = "sluice:channels"
    static let sequenceKey = "sluice:channels:sequence"

    private static let createScript = """
        if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        local sequence = redis.call('INCR', KEYS[3])
        redis.call('HSET', KEYS[1], 'document', ARGV[2], 'revision', ARGV[3], 'name', ARGV[4], 'pushSecret', ARGV[5], 'sequence', sequence)
        redis.call('ZADD', KEYS[2], sequence, ARGV[1])
        return 1
        """
    /// Sets the field/value pairs from ARGV[2] on if the stored revision is ARGV[1]; an empty
    /// value deletes its field. -1: no such channel, 0: another revision, 1: written.
    private static let writeScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
        if redis.call('HGET', KEYS[1], 'revision') ~= ARGV[1] then return 0 end
        for i = 2, #ARGV, 2 do
          if ARGV[i + 1] == '' then redis.call('HDEL', KEYS[1], ARGV[i]) else redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
        end
        return 1
        """
    private static let deleteScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
        if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'revision') ~= ARGV[1] then return 0 end
        redis.call('DEL', KEYS[1])
        redis.call('ZREM', KEYS[2], ARGV[2])
        return 1
        """
    /// Up to ARGV[3] channels after sequence ARGV[1] whose name contains ARGV[2] (lowercase;
    /// empty: all), as sequence, document pairs.
    private static let listScript = """
        local found = {}
        local after = '(' .. ARGV[1]
        local wanted = tonumber(ARGV[3])
        while #found < wanted * 2 do
          local ids = redis.call('ZRANGEBYSCORE', KEYS[1], after, '+inf', 'WITHSCORES', 'LIMIT', 0, 200)
          if #ids == 0 then break end
          for i = 1, #ids, 2 do
            local fields = redis.call('HMGET', 'sluice:channel:' .. ids[i], 'name', 'document')
            if fields[2] and (ARGV[2] == '' or string.find(fields[1], ARGV[2], 1, true)) then
              table.insert(found, ids[i + 1])
              table.insert(found, fields[2])
              if #found >= wanted * 2 then break end
            end
            after = '(' .. ids[i + 1]
          end
        end
        return found
        """

    public func create(_ channel: StreamChannel, pushSecret: String) async throws -> StreamChannel {
        try ChannelDocument.validate(channel)
        var channel = channel
        channel.createdAt = ChannelDocument.stored(channel.createdAt)
        channel.updatedAt = ChannelDocument.stored(channel.updatedAt)
        let created = try await eval(Self.createScript, keys: [Self.channelKey(channel.id), Self.listKey, Self.sequenceKey],
                                     [channel.id.description, try ChannelDocument.encode(channel), String(channel.revision),
                                      channel.name.lowercased(), pushSecret])
        guard created.integer == 1 else { throw StateError(.conflict, "channel \(channel.id.description) exists") }
        return channel
    }

    public func channel(_ id: ChannelID) async throws -> StreamChannel? {
        try await field(id, "document").map(ChannelDocument.decode)
    }

    public func pushSecret(of id: ChannelID) async throws -> String? {
        try await field(id, "pushSecret")
    }

    public func list(nameContains: String?, limit: Int, after: String?) async throws -> ChannelPage {
        let limit = max(1, min(limit, 500))
        let start = Int(after ?? "0") ?? 0
        guard case .array(let values) = try await eval(Self.listScript, keys: [Self.listKey],
                                                       [String(start), nameContains?.lowercased() ?? "", String(limit + 1)]) else {
            return ChannelPage(channels: [], next: nil)
        }
        var rows: [(sequence: String, document: String)] = []
        for index in stride(from: 0, to: values.count - 1, by: 2) {
            guard let sequence = values[index].string, let document = values[index + 1].string else { continue }
            rows.append((sequence, document))
        }
        let channels = try rows.prefix(limit).map { try ChannelDocument.decode($0.document) }
        return ChannelPage(channels: channels, next: rows.count > limit ? rows[limit - 1].sequence : nil)
    }

    public func update(_ channel: StreamChannel, ifRevision: Int?) async throws -> StreamChannel {
        try ChannelDocument.validate(channel)
        return try await change(channel.id, ifRevision: ifRevision) { current in
            var updated = channel
            updated.createdAt = current.createdAt
            return (updated, ["name", channel.name.lowercased()])
        }
    }

    public func rotatePushSecret(of id: ChannelID, to secret: String) async throws -> StreamChannel {
        try await change(id, ifRevision: nil) { current in (current, ["pushSecret", secret]) }
    }

    public func delete(_ id: ChannelID, ifRevision: Int?) async throws {
        let deleted = try await eval(Self.deleteScript, keys: [Self.channelKey(id), Self.listKey],
                                     [ifRevision.map(String.init) ?? "", id.description])
        switch deleted.integer {
        case -1: throw StateError(.notFound, "channel \(id.description)")
        case 0: throw StateError(.staleRevision, "channel \(id.description) is not at revision \(ifRevision ?? 0)")
        default: return
        }
    }

    public func watermarkImage(of id: ChannelID) async throws -> WatermarkImage? {
        try await field(id, "image").flatMap { Data(base64Encoded: $0) }.flatMap { WatermarkImage(bytes: [UInt8]($0)) }
    }

    public func setWatermarkImage(_ image: WatermarkImage?, of id: ChannelID) async throws -> StreamChannel {
        try await change(id, ifRevision: nil) { current in
            (current, ["image", image.map { Data($0.bytes).base64EncodedString() } ?? ""])
        }
    }

    // MARK: Helpers

    /// Reads the channel, applies `edit` (the new channel and extra fields to set), bumps the
    /// revision and writes if nobody wrote meanwhile; without `ifRevision`, a lost race is
    /// retried (bounded), with it, it is `.staleRevision`.
    private func change(_ id: ChannelID, ifRevision: Int?,
                        _ edit: (StreamChannel) throws -> (StreamChannel, [String])) async throws -> StreamChannel {
        for _ in 0..<20 {
            guard let current = try await channel(id) else { throw StateError(.notFound, "channel \(id.description)") }
            if let ifRevision, ifRevision != current.revision {
                throw StateError(.staleRevision, "channel \(id.description) is at revision \(current.revision), not \(ifRevision)")
            }
            var (updated, fields) = try edit(current)
            updated.revision = current.revision + 1
            updated.updatedAt = ChannelDocument.stored(Date())
            let written = try await eval(Self.writeScript, keys: [Self.channelKey(id)],
                                         [String(current.revision), "document", try ChannelDocument.encode(updated),
                                          "revision", String(updated.revision)] + fields)
            switch written.integer {
            case 1: return updated
            case -1: throw StateError(.notFound, "channel \(id.description)")
            default:
                if let ifRevision {
                    throw StateError(.staleRevision, "channel \(id.description) is no longer at revision \(ifRevision)")
                }
            }
        }
        throw StateError(.storage, "channel \(id.description): too many concurrent writers")
    }

    private func field(_ id: ChannelID, _ name: String) async throws -> String? {
        try await redis.command(["HGET", Self.channelKey(id), name]).string
    }

    private func eval(_ script: String, keys: [String], _ arguments: [String]) async throws -> RedisValue {
        try await redis.command(["EVAL", script, String(keys.count)] + keys + arguments)
    }
}
