import Foundation
import GRDB
import Media

/// API keys in the single-machine database, stored as SHA-256 hashes.
public final class SQLiteAPIKeyStore: APIKeyStore {
    private let queue: DatabaseQueue

    public init(database: SQLiteDatabase) {
        queue = database.queue
    }

    /// Makes sure an admin key exists. With `preset` (from `SLUICE_ADMIN_KEY`) that key is the
    /// admin key; without one and without any admin key yet, one is generated and returned so
    /// the caller can show it once. Returns `nil` when there is nothing new to show.
    public func ensureAdminKey(preset: String?) async throws -> String? {
        if let preset {
            let hash = Self.hash(preset)
            try await write { db in
                guard try Row.fetchOne(db, sql: "SELECT 1 FROM apiKey WHERE hash = ?", arguments: [hash]) == nil else { return }
                try db.execute(sql: "DELETE FROM apiKey WHERE id = 'admin'")
                try Self.insert(db, id: "admin", name: "admin", scope: .admin, hash: hash)
            }
            return nil
        }
        let exists = try await queue.read { db in
            try Row.fetchOne(db, sql: "SELECT 1 FROM apiKey WHERE scope = ?", arguments: [APIKeyScope.admin.rawValue]) != nil
        }
        guard !exists else { return nil }
        let key = Self.newKey()
        try await write { db in try Self.insert(db, id: "admin", name: "admin", scope: .admin, hash: Self.hash(key)) }
        return key
    }

    /// Makes a key; the returned string is the only time it is seen.
    public func create(name: String, scope: APIKeyScope) async throws -> (key: String, record: APIKey) {
        let key = Self.newKey()
        let id = UUID().uuidString.lowercased()
        try await write { db in try Self.insert(db, id: id, name: name, scope: scope, hash: Self.hash(key)) }
        return (key, APIKey(id: id, name: name, scope: scope, createdAt: Date()))
    }

    public func list() async throws -> [APIKey] {
        try await queue.read { db in
            try Row.fetchAll(db, sql: "SELECT id, name, scope, createdAt FROM apiKey ORDER BY createdAt").map { row in
                APIKey(id: row["id"], name: row["name"], scope: APIKeyScope(rawValue: row["scope"]) ?? .readOnly,
                       createdAt: Date(timeIntervalSince1970: row["createdAt"]))
            }
        }
    }

    /// Revokes a key; `false` if there was none with that id.
    public func revoke(id: String) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM apiKey WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    /// The scope of `key`, or `nil` if it is not a current key. Keys are compared by hash.
    public func scope(of key: String) async throws -> APIKeyScope? {
        let hash = Self.hash(key)
        return try await queue.read { db in
            try String.fetchOne(db, sql: "SELECT scope FROM apiKey WHERE hash = ?", arguments: [hash])
                .flatMap(APIKeyScope.init(rawValue:))
        }
    }

    // MARK: Console sessions

    /// Opens a console session for `key`: a session token for an HttpOnly cookie and a CSRF
    /// token the console sends with every write. `nil` if the key is not a current key. Only
    /// hashes of session tokens are stored; revoking the key ends its sessions.
    public func openSession(key: String, lifetime: Duration) async throws -> ConsoleSession? {
        let hash = Self.hash(key)
        let token = "cs_" + Hex.random(byteCount: 32)
        let csrfToken = Hex.random(byteCount: 16)
        let now = Date()
        let expiresAt = now.addingTimeInterval(TimeInterval(lifetime.components.seconds))
        return try await write { db in
            try db.execute(sql: "DELETE FROM consoleSession WHERE expiresAt <= ?", arguments: [now.timeIntervalSince1970])
            guard let row = try Row.fetchOne(db, sql: "SELECT id, scope FROM apiKey WHERE hash = ?", arguments: [hash]) else {
                return nil
            }
            try db.execute(sql: "INSERT INTO consoleSession (tokenHash, keyID, csrfToken, expiresAt) VALUES (?, ?, ?, ?)",
                           arguments: [Self.hash(token), row["id"] as String, csrfToken, expiresAt.timeIntervalSince1970])
            return ConsoleSession(token: token, csrfToken: csrfToken, scope: APIKeyScope(rawValue: row["scope"]) ?? .readOnly,
                                  expiresAt: expiresAt)
        }
    }

    /// The session a cookie carries, or `nil` when it is unknown, expired, closed or its key
    /// was revoked.
    public func session(token: String) async throws -> ConsoleSession? {
        let hash = Self.hash(token)
        let now = Date().timeIntervalSince1970
        return try await queue.read { db in
            let sql = "SELECT s.csrfToken, s.expiresAt, k.scope FROM consoleSession s JOIN apiKey k ON k.id = s.keyID "
                + "WHERE s.tokenHash = ? AND s.expiresAt > ?"
            guard let row = try Row.fetchOne(db, sql: sql, arguments: [hash, now]) else { return nil }
            return ConsoleSession(token: token, csrfToken: row["csrfToken"], scope: APIKeyScope(rawValue: row["scope"]) ?? .readOnly,
                                  expiresAt: Date(timeIntervalSince1970: row["expiresAt"]))
        }
    }

    /// Signs a console session out.
    public func closeSession(token: String) async throws {
        let hash = Self.hash(token)
        try await write { db in try db.execute(sql: "DELETE FROM consoleSession WHERE tokenHash = ?", arguments: [hash]) }
    }

    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await queue.write(body)
        } catch {
            throw StateError(.storage, "\(error)")
        }
    }

    private static func insert(_ db: Database, id: String, name: String, scope: APIKeyScope, hash: String) throws {
        try db.execute(sql: "INSERT INTO apiKey (id, name, scope, hash, createdAt) VALUES (?, ?, ?, ?, ?)",
                       arguments: [id, name, scope.rawValue, hash, Date().timeIntervalSince1970])
    }

    static func hash(_ key: String) -> String { APIKeySecret.hash(key) }
    static func newKey() -> String { APIKeySecret.newKey() }
}
