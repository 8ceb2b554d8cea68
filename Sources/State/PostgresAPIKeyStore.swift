import Foundation
import Media
import PostgresNIO

/// API keys and console sessions in the cluster's PostgreSQL database: the same contract as
/// `SQLiteAPIKeyStore`. API nodes starting together agree on one admin key (the admin row is
/// written under an advisory lock).
public final class PostgresAPIKeyStore: APIKeyStore {
    private let storage: PostgresStorage
    /// Serializes changes of the admin key ("sluice admin key").
    private static let adminLockKey: Int64 = 0x736C_7569_6365_0002

    public init(storage: PostgresStorage) {
        self.storage = storage
    }

    public func ensureAdminKey(preset: String?) async throws -> String? {
        let generated = preset == nil ? APIKeySecret.newKey() : nil
        let hash = APIKeySecret.hash(preset ?? generated ?? "")
        let now = Date().timeIntervalSince1970
        let lock = Self.adminLockKey
        let stored = try await storage.transaction("ensure admin key") { connection in
            _ = try await connection.query("SELECT pg_advisory_xact_lock(\(lock))", logger: connection.logger).collect()
            let existing: PostgresQuery = preset == nil
                ? "SELECT 1 FROM api_keys WHERE scope = \(APIKeyScope.admin.rawValue)"
                : "SELECT 1 FROM api_keys WHERE hash = \(hash)"
            guard try await connection.query(existing, logger: connection.logger).collect().isEmpty else { return false }
            // Its console sessions go with the replaced admin key.
            try await connection.query("DELETE FROM api_keys WHERE id = 'admin'", logger: connection.logger)
            try await Self.insert(connection, id: "admin", name: "admin", scope: .admin, hash: hash, createdAt: now)
            return true
        }
        return stored ? generated : nil
    }

    public func create(name: String, scope: APIKeyScope) async throws -> (key: String, record: APIKey) {
        let key = APIKeySecret.newKey()
        let record = APIKey(id: UUID().uuidString.lowercased(), name: name, scope: scope, createdAt: Date())
        let createdAt = record.createdAt.timeIntervalSince1970
        try await storage.withConnection("create api key") { connection in
            try await Self.insert(connection, id: record.id, name: name, scope: scope, hash: APIKeySecret.hash(key),
                                  createdAt: createdAt)
        }
        return (key, record)
    }

    public func list() async throws -> [APIKey] {
        try await storage.rows("list api keys", "SELECT id, name, scope, created_at FROM api_keys ORDER BY created_at, id") { row in
            let (id, name, scope, createdAt) = try row.decode((String, String, String, Double).self)
            return APIKey(id: id, name: name, scope: Self.scope(scope), createdAt: Date(timeIntervalSince1970: createdAt))
        }
    }

    public func revoke(id: String) async throws -> Bool {
        try await !storage.rows("revoke api key", "DELETE FROM api_keys WHERE id = \(id) RETURNING id").isEmpty
    }

    public func scope(of key: String) async throws -> APIKeyScope? {
        let hash = APIKeySecret.hash(key)
        return try await storage.rows("read api key", "SELECT scope FROM api_keys WHERE hash = \(hash)") { row in
            Self.scope(try row.decode(String.self))
        }.first
    }

    // MARK: Console sessions

    public func openSession(key: String, lifetime: Duration) async throws -> ConsoleSession? {
        let hash = APIKeySecret.hash(key)
        let token = APIKeySecret.newSessionToken()
        let csrfToken = Hex.random(byteCount: 16)
        let now = Date()
        let expiresAt = APIKeySecret.expiry(after: lifetime, from: now)
        return try await storage.transaction("open console session") { connection in
            try await connection.query("DELETE FROM console_sessions WHERE expires_at <= \(now.timeIntervalSince1970)",
                                       logger: connection.logger)
            let keys = try await connection.query("SELECT id, scope FROM api_keys WHERE hash = \(hash)", logger: connection.logger)
                .collect()
            guard let row = keys.first else { return nil }
            let (id, scope) = try row.decode((String, String).self)
            try await connection.query("""
                INSERT INTO console_sessions (token_hash, key_id, csrf_token, expires_at)
                VALUES (\(APIKeySecret.hash(token)), \(id), \(csrfToken), \(expiresAt.timeIntervalSince1970))
                """, logger: connection.logger)
            return ConsoleSession(token: token, csrfToken: csrfToken, scope: Self.scope(scope), expiresAt: expiresAt)
        }
    }

    public func session(token: String) async throws -> ConsoleSession? {
        let hash = APIKeySecret.hash(token)
        let now = Date().timeIntervalSince1970
        return try await storage.rows("read console session", """
            SELECT s.csrf_token, s.expires_at, k.scope FROM console_sessions s JOIN api_keys k ON k.id = s.key_id
            WHERE s.token_hash = \(hash) AND s.expires_at > \(now)
            """) { row in
            let (csrfToken, expiresAt, scope) = try row.decode((String, Double, String).self)
            return ConsoleSession(token: token, csrfToken: csrfToken, scope: Self.scope(scope),
                                  expiresAt: Date(timeIntervalSince1970: expiresAt))
        }.first
    }

    public func closeSession(token: String) async throws {
        let hash = APIKeySecret.hash(token)
        _ = try await storage.rows("close console session", "DELETE FROM console_sessions WHERE token_hash = \(hash)")
    }

    // MARK: Helpers

    private static func insert(_ connection: PostgresConnection, id: String, name: String, scope: APIKeyScope, hash: String,
                               createdAt: Double) async throws {
        try await connection.query("""
            INSERT INTO api_keys (id, name, scope, hash, created_at) VALUES (\(id), \(name), \(scope.rawValue), \(hash), \(createdAt))
            """, logger: connection.logger)
    }

    /// A stored scope; one this version does not know reads as the least it could mean.
    private static func scope(_ stored: String) -> APIKeyScope {
        APIKeyScope(rawValue: stored) ?? .readOnly
    }
}
