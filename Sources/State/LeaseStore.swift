import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// Short-lived, named claims on work that one node of a cluster does at a time (a stream's
/// transcoding): held while renewed, lapsing on their own when the holder dies. Implementations:
/// in memory (one machine, tests) and Redis (a cluster).
///
/// A lease is not a consumer group's assignment: it lapses within its TTL of the holder's death,
/// where a group notices a dead member only after its session timeout and a rebalance, so the
/// work can move on sooner than the group's partitions do.
public protocol LeaseStore: Sendable {
    /// Takes lease `name` for `owner` (or extends it, if `owner` holds it) unless another holds it.
    /// - Returns: whether `owner` now holds it, for `ttl` unless renewed.
    func acquire(_ name: String, owner: String, ttl: Duration) async throws -> Bool
    /// Extends the lease; `false` if `owner` no longer holds it (it lapsed, or another took it).
    func renew(_ name: String, owner: String, ttl: Duration) async throws -> Bool
    /// Gives the lease up if `owner` holds it.
    func release(_ name: String, owner: String) async throws
    /// Who holds each lease now (nil: nobody), in the order asked.
    func holders(of names: [String]) async throws -> [String?]
}

/// Leases in Redis: `sluice:lease:{name}`, the holder as its value, with a TTL. Taking, renewing
/// and giving up check the holder in one Lua script (atomic in Redis).
public struct RedisLeaseStore: LeaseStore {
    private let redis: RedisClient

    public init(redis: RedisClient) {
        self.redis = redis
    }

    static func key(_ name: String) -> String { "sluice:lease:\(name)" }

    public func acquire(_ name: String, owner: String, ttl: Duration) async throws -> Bool {
        try await redis.command(["EVAL", RedisLockScripts.acquire, "1", Self.key(name), owner, RedisLockScripts.milliseconds(ttl)]).integer == 1
    }

    public func renew(_ name: String, owner: String, ttl: Duration) async throws -> Bool {
        try await redis.command(["EVAL", RedisLockScripts.renew, "1", Self.key(name), owner, RedisLockScripts.milliseconds(ttl)]).integer == 1
    }

    public func release(_ name: String, owner: String) async throws {
        _ = try await redis.command(["EVAL", RedisLockScripts.release, "1", Self.key(name), owner])
    }

    public func holders(of names: [String]) async throws -> [String?] {
        guard !names.isEmpty else { return [] }
        guard case .array(let values) = try await redis.command(["MGET"] + names.map(Self.key)), values.count == names.count else {
            throw StateError(.storage, "Redis answered MGET of \(names.count) leases with something else")
        }
        return values.map(\.string)
    }

}

/// The Lua scripts of a lock held by a named owner with a TTL (publish locks and leases): taking
/// it (or extending one's own), renewing only one's own and releasing only one's own.
enum RedisLockScripts {
    static let acquire = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
        if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
        return 0
        """
    static let renew = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
        return 0
        """
    static let release = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
        return 0
        """

    /// A TTL as Redis's `PX`/`PEXPIRE` take it: whole milliseconds, at least one.
    static func milliseconds(_ duration: Duration) -> String {
        let components = duration.components
        return String(max(1, components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000))
    }
}

/// Leases in memory: one machine's nodes (and tests) share one instance.
public final class InMemoryLeaseStore: LeaseStore {
    private struct Lease {
        var owner: String
        var expiresAt: NIODeadline
    }

    /// Leases by name; a lock, not an actor: no call suspends while holding it.
    private let leases = NIOLockedValueBox([String: Lease]())

    public init() {}

    public func acquire(_ name: String, owner: String, ttl: Duration) async throws -> Bool {
        let now = NIODeadline.now()
        return leases.withLockedValue { leases in
            if let lease = leases[name], lease.owner != owner, lease.expiresAt > now { return false }
            leases[name] = Lease(owner: owner, expiresAt: now + TimeAmount(ttl))
            return true
        }
    }

    public func renew(_ name: String, owner: String, ttl: Duration) async throws -> Bool {
        let now = NIODeadline.now()
        return leases.withLockedValue { leases in
            guard let lease = leases[name], lease.owner == owner, lease.expiresAt > now else { return false }
            leases[name]?.expiresAt = now + TimeAmount(ttl)
            return true
        }
    }

    public func release(_ name: String, owner: String) async throws {
        leases.withLockedValue { leases in
            if leases[name]?.owner == owner { leases[name] = nil }
        }
    }

    public func holders(of names: [String]) async throws -> [String?] {
        let now = NIODeadline.now()
        return leases.withLockedValue { leases in
            names.map { name in leases[name].flatMap { $0.expiresAt > now ? $0.owner : nil } }
        }
    }
}
