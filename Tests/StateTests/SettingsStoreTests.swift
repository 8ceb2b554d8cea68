import Events
import Foundation
import State
import Testing

/// Server and webhook settings on SQLite (one database, two readers) and PostgreSQL (one
/// server, two nodes): what one saves, the other reads after `reload()`.
@Suite struct SettingsStoreTests {
    typealias Stores = (server: any ServerSettingsStore, webhooks: any WebhookSettingsStore)

    /// Two nodes' stores on the same data, and the PostgreSQL server if there is one.
    static func make(_ kind: ChannelStoreTests.Kind) async throws -> (Stores, Stores, PostgresTestDatabase?) {
        switch kind {
        case .sqlite:
            let database = try SQLiteDatabase(path: nil)
            let first: Stores = (try await SQLiteSettingsStore(database: database), try await SQLiteWebhookSettingsStore(database: database))
            let second: Stores = (try await SQLiteSettingsStore(database: database), try await SQLiteWebhookSettingsStore(database: database))
            return (first, second, nil)
        case .postgres:
            let database = try await PostgresTestDatabase.start()
            let other = try await database.open()
            let first: Stores = (try await PostgresSettingsStore(storage: database.storage),
                                 try await PostgresWebhookSettingsStore(storage: database.storage))
            let second: Stores = (try await PostgresSettingsStore(storage: other), try await PostgresWebhookSettingsStore(storage: other))
            return (first, second, database)
        }
    }

    @Test(arguments: ChannelStoreTests.Kind.allCases) func savedSettingsReachTheOtherNode(_ kind: ChannelStoreTests.Kind) async throws {
        let (first, second, database) = try await Self.make(kind)
        #expect(first.server.current == ServerSettings())
        let settings = ServerSettings(pushBaseURL: "rtmp://live.example.com", playBaseURL: "https://play.example.com")
        try await first.server.save(settings)
        #expect(first.server.current == settings)
        try await second.server.reload()
        #expect(second.server.current == settings)
        await database?.shutDown()
    }

    @Test(arguments: ChannelStoreTests.Kind.allCases) func theSigningSecretIsMadeOnceAndKept(_ kind: ChannelStoreTests.Kind) async throws {
        let (first, second, database) = try await Self.make(kind)
        let secret = first.webhooks.current.signingSecret
        #expect(secret.hasPrefix("whsec_"))
        #expect(second.webhooks.current.signingSecret == secret, "the second node finds the first one's secret")
        let hooks = [Webhook(url: "https://hooks.example.com/in")]
        try await second.webhooks.setWebhooks(hooks)
        try await first.webhooks.reload()
        #expect(first.webhooks.current == WebhookSettings(webhooks: hooks, signingSecret: secret))
        await database?.shutDown()
    }
}
