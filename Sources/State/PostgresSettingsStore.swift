import Events
import Foundation
import Media
import NIOConcurrencyHelpers
import PostgresNIO

/// Server settings in the cluster's PostgreSQL database, with a copy in memory for the hot
/// path; the same contract as `SQLiteSettingsStore`.
public final class PostgresSettingsStore: ServerSettingsStore {
    private let setting: PostgresStoredSetting<ServerSettings>

    public init(storage: PostgresStorage) async throws {
        setting = try await PostgresStoredSetting(storage: storage, key: "server") { (ServerSettings(), false) }
    }

    public var current: ServerSettings { setting.value }

    public func reload() async throws { try await setting.reload() }

    public func save(_ settings: ServerSettings) async throws { try await setting.save(settings) }
}

/// The global webhook list and its signing secret in the cluster's PostgreSQL database; the
/// same contract as `SQLiteWebhookSettingsStore`. The secret is made by the first node that
/// finds none; nodes starting together keep the one that was stored first.
public final class PostgresWebhookSettingsStore: WebhookSettingsStore {
    private let setting: PostgresStoredSetting<WebhookSettings>

    public init(storage: PostgresStorage) async throws {
        setting = try await PostgresStoredSetting(storage: storage, key: "webhooks") {
            (WebhookSettings(signingSecret: "whsec_" + Hex.random(byteCount: 24)), true)
        }
    }

    public var current: WebhookSettings { setting.value }

    public func reload() async throws { try await setting.reload() }

    public func setWebhooks(_ webhooks: [Webhook]) async throws {
        // The list changes, the secret stays what is stored (another node's save may be newer).
        try await setting.reload()
        var settings = current
        settings.webhooks = webhooks
        try await setting.save(settings)
    }
}

/// One JSON value in the `settings` table under `key`, read once and kept in memory.
final class PostgresStoredSetting<Value: Codable & Sendable>: Sendable {
    private let storage: PostgresStorage
    private let key: String
    // Read synchronously by every request, replaced by `reload` and `save` from any task; so a lock (as
    // its SQLite twin).
    private let cached: NIOLockedValueBox<Value>

    /// - Parameter initial: the value when none is stored (or it no longer decodes), and
    ///   whether to store it when none is stored. A stored value is never overwritten here.
    init(storage: PostgresStorage, key: String, initial: () -> (value: Value, store: Bool)) async throws {
        self.storage = storage
        self.key = key
        if let stored = try await Self.read(key, storage) {
            cached = NIOLockedValueBox(Self.decode(stored) ?? initial().value)
            return
        }
        let (value, store) = initial()
        cached = NIOLockedValueBox(value)
        guard store else { return }
        let json = try Self.encode(value)
        _ = try await storage.rows("store setting \(key)", """
            INSERT INTO settings (key, value) VALUES (\(key), \(json)) ON CONFLICT (key) DO NOTHING
            """)
        try await reload()
    }

    var value: Value { cached.withLockedValue { $0 } }

    /// Replaces the cached value with the stored one, if one is stored and decodes.
    func reload() async throws {
        if let stored = try await Self.read(key, storage), let value = Self.decode(stored) {
            cached.withLockedValue { $0 = value }
        }
    }

    func save(_ value: Value) async throws {
        let json = try Self.encode(value)
        _ = try await storage.rows("save setting \(key)", """
            INSERT INTO settings (key, value) VALUES (\(key), \(json))
            ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
            """)
        cached.withLockedValue { $0 = value }
    }

    private static func read(_ key: String, _ storage: PostgresStorage) async throws -> String? {
        try await storage.rows("read setting \(key)", "SELECT value FROM settings WHERE key = \(key)") { row in
            try row.decode(String.self)
        }.first
    }

    private static func decode(_ stored: String) -> Value? {
        try? JSONDecoder().decode(Value.self, from: Data(stored.utf8))
    }

    private static func encode(_ value: Value) throws -> String {
        do {
            return String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
        } catch {
            throw StateError(.invalid, "setting does not encode: \(error)")
        }
    }
}
