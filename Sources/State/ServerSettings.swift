import Events
import Foundation
import GRDB
import NIOConcurrencyHelpers

/// Settings an operator changes at run time through the API: the bases of every URL the API
/// hands out (for a server behind a load balancer or a CDN). `nil`: derived from the listeners.
public struct ServerSettings: Codable, Sendable, Hashable {
    /// `rtmp://` or `rtmps://` base encoders push to, e.g. `rtmp://live.example.com:1935`.
    public var pushBaseURL: String?
    /// `http://` or `https://` base viewers play from, e.g. `https://play.example.com`.
    public var playBaseURL: String?

    public init(pushBaseURL: String? = nil, playBaseURL: String? = nil) {
        self.pushBaseURL = pushBaseURL
        self.playBaseURL = playBaseURL
    }

    /// Problems with the values; empty when valid.
    public func validationErrors() -> [FieldError] {
        var errors: [FieldError] = []
        if let push = pushBaseURL, !Self.isBase(push, schemes: ["rtmp", "rtmps"]) {
            errors.append(FieldError("pushBaseURL", "must be an rtmp:// or rtmps:// URL without a path"))
        }
        if let play = playBaseURL, !Self.isBase(play, schemes: ["http", "https"]) {
            errors.append(FieldError("playBaseURL", "must be an http:// or https:// URL without a path"))
        }
        return errors
    }

    private static func isBase(_ value: String, schemes: Set<String>) -> Bool {
        guard let url = URLComponents(string: value), let scheme = url.scheme?.lowercased(), schemes.contains(scheme),
              !(url.host ?? "").isEmpty else { return false }
        return (url.path.isEmpty || url.path == "/") && url.query == nil && value.count <= 512
    }
}

/// Server settings in the single-machine database, with a copy in memory for the hot path.
public final class SQLiteSettingsStore: ServerSettingsStore {
    private let setting: StoredSetting<ServerSettings>

    public init(database: SQLiteDatabase) async throws {
        setting = try await StoredSetting(database: database, key: "server") { (ServerSettings(), false) }
    }

    public var current: ServerSettings { setting.value }

    /// Reads what another process (a cluster node on the same database) may have saved.
    public func reload() async throws { try await setting.reload() }

    public func save(_ settings: ServerSettings) async throws {
        try await setting.save(settings)
    }
}

/// One JSON value in the `setting` table under `key`, read once and kept in memory.
final class StoredSetting<Value: Codable & Sendable>: Sendable {
    private let queue: DatabaseQueue
    private let key: String
    /// The value last read or saved: `value` is read synchronously on request paths, so a lock, not an actor.
    private let cached: NIOLockedValueBox<Value>

    /// - Parameter initial: the value when none is stored (or it no longer decodes), and
    ///   whether to store it at once.
    init(database: SQLiteDatabase, key: String, initial: () -> (value: Value, store: Bool)) async throws {
        queue = database.queue
        self.key = key
        let stored = try await queue.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = ?", arguments: [key])
        }
        if let stored, let value = try? JSONDecoder().decode(Value.self, from: Data(stored.utf8)) {
            cached = NIOLockedValueBox(value)
        } else {
            let (value, store) = initial()
            cached = NIOLockedValueBox(value)
            if store { try await save(value) }
        }
    }

    var value: Value { cached.withLockedValue { $0 } }

    /// Replaces the cached value with the stored one, if one is stored and decodes.
    func reload() async throws {
        let key = key
        let stored = try await queue.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = ?", arguments: [key])
        }
        if let stored, let value = try? JSONDecoder().decode(Value.self, from: Data(stored.utf8)) {
            cached.withLockedValue { $0 = value }
        }
    }

    func save(_ value: Value) async throws {
        let json = String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
        let key = key
        do {
            try await queue.write { db in
                try db.execute(sql: "INSERT OR REPLACE INTO setting (key, value) VALUES (?, ?)", arguments: [key, json])
            }
        } catch {
            throw StateError(.storage, "\(error)")
        }
        cached.withLockedValue { $0 = value }
    }
}
