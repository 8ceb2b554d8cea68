import Crypto
import Foundation
import Media

/// What a key may do.
public enum APIKeyScope: String, Codable, Sendable, Hashable, CaseIterable {
    /// Everything, including managing keys.
    case admin
    /// Read and change channels and streams.
    case readWrite = "read-write"
    /// Read only.
    case readOnly = "read-only"

    public var canWrite: Bool { self != .readOnly }
}

/// An API key as listed: never the key itself, which is shown once when made and stored hashed.
public struct APIKey: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var scope: APIKeyScope
    public var createdAt: Date

    public init(id: String, name: String, scope: APIKeyScope, createdAt: Date) {
        self.id = id
        self.name = name
        self.scope = scope
        self.createdAt = createdAt
    }
}

/// A signed-in console: what the browser's cookie stands for.
public struct ConsoleSession: Sendable, Hashable {
    /// The cookie's value (never stored; only its hash is).
    public var token: String
    /// Sent by the console in `X-CSRF-Token` with every request that changes something.
    public var csrfToken: String
    public var scope: APIKeyScope
    public var expiresAt: Date
}

/// Where API keys and console sessions live: SQLite on one machine, PostgreSQL in a cluster.
/// Keys and session tokens are stored as SHA-256 hashes only.
public protocol APIKeyStore: Sendable {
    /// Makes sure an admin key exists. With `preset` (from `SLUICE_ADMIN_KEY`) that key is the
    /// admin key; without one and without any admin key yet, one is generated and returned so
    /// the caller can show it once. Returns `nil` when there is nothing new to show.
    func ensureAdminKey(preset: String?) async throws -> String?
    /// Makes a key; the returned string is the only time it is seen.
    func create(name: String, scope: APIKeyScope) async throws -> (key: String, record: APIKey)
    /// Every key, oldest first.
    func list() async throws -> [APIKey]
    /// Revokes a key (and ends its console sessions); `false` if there was none with that id.
    func revoke(id: String) async throws -> Bool
    /// The scope of `key`, or `nil` if it is not a current key. Keys are compared by hash.
    func scope(of key: String) async throws -> APIKeyScope?
    /// Opens a console session for `key`: a session token for an HttpOnly cookie and a CSRF
    /// token the console sends with every write; `nil` if the key is not a current key.
    func openSession(key: String, lifetime: Duration) async throws -> ConsoleSession?
    /// The session a cookie carries, or `nil` when it is unknown, expired, closed or its key
    /// was revoked.
    func session(token: String) async throws -> ConsoleSession?
    /// Signs a console session out.
    func closeSession(token: String) async throws
}

/// How keys and session tokens are made and stored.
enum APIKeySecret {
    /// The hex SHA-256 of a key or token: what the stores keep.
    static func hash(_ key: String) -> String {
        Hex.encode(SHA256.hash(data: Array(key.utf8)))
    }

    /// A new API key, `sk_` and 48 hex digits.
    static func newKey() -> String {
        "sk_" + Hex.random(byteCount: 24)
    }

    /// A new console session token.
    static func newSessionToken() -> String {
        "cs_" + Hex.random(byteCount: 32)
    }

    /// A console session's expiry, `lifetime` from `now` (whole seconds).
    static func expiry(after lifetime: Duration, from now: Date) -> Date {
        now.addingTimeInterval(TimeInterval(lifetime.components.seconds))
    }
}
