import Foundation
import State
import Testing

/// The `APIKeyStore` contract on SQLite (in memory) and PostgreSQL (a real server per test).
@Suite struct APIKeyStoreTests {
    /// A store of `kind` and, for PostgreSQL, its server (nil for SQLite).
    static func make(_ kind: ChannelStoreTests.Kind) async throws -> (any APIKeyStore, PostgresTestDatabase?) {
        switch kind {
        case .sqlite:
            return (SQLiteAPIKeyStore(database: try SQLiteDatabase(path: nil)), nil)
        case .postgres:
            let database = try await PostgresTestDatabase.start()
            return (PostgresAPIKeyStore(storage: database.storage), database)
        }
    }

    @Test(arguments: ChannelStoreTests.Kind.allCases) func anAdminKeyIsMadeOnceOrPreset(_ kind: ChannelStoreTests.Kind) async throws {
        let (store, database) = try await Self.make(kind)
        let generated = try #require(try await store.ensureAdminKey(preset: nil))
        #expect(generated.hasPrefix("sk_") && generated.count == 51)
        #expect(try await store.ensureAdminKey(preset: nil) == nil, "shown once")
        #expect(try await store.scope(of: generated) == .admin)
        #expect(try await store.ensureAdminKey(preset: "sk_preset") == nil)
        #expect(try await store.scope(of: "sk_preset") == .admin)
        #expect(try await store.scope(of: generated) == nil, "the preset replaces the generated key")
        #expect(try await store.list().map(\.id) == ["admin"])
        await database?.shutDown()
    }

    @Test(arguments: ChannelStoreTests.Kind.allCases) func keysAreMadeListedAndRevoked(_ kind: ChannelStoreTests.Kind) async throws {
        let (store, database) = try await Self.make(kind)
        let (key, record) = try await store.create(name: "ci", scope: .readWrite)
        let (readOnly, _) = try await store.create(name: "dashboard", scope: .readOnly)
        #expect(try await store.scope(of: key) == .readWrite)
        #expect(try await store.scope(of: readOnly) == .readOnly)
        #expect(try await store.scope(of: "sk_unknown") == nil)
        let listed = try await store.list()
        #expect(listed.map(\.name) == ["ci", "dashboard"])
        #expect(listed.first?.id == record.id && listed.first?.scope == .readWrite)
        #expect(try await store.revoke(id: record.id))
        #expect(try await !store.revoke(id: record.id))
        #expect(try await store.scope(of: key) == nil)
        await database?.shutDown()
    }

    @Test(arguments: ChannelStoreTests.Kind.allCases) func consoleSessionsEndWithTheirKey(_ kind: ChannelStoreTests.Kind) async throws {
        let (store, database) = try await Self.make(kind)
        let (key, record) = try await store.create(name: "console", scope: .admin)
        #expect(try await store.openSession(key: "sk_wrong", lifetime: .seconds(60)) == nil)
        let session = try #require(try await store.openSession(key: key, lifetime: .seconds(60)))
        #expect(session.token.hasPrefix("cs_") && session.scope == .admin)
        let read = try #require(try await store.session(token: session.token))
        #expect(read.csrfToken == session.csrfToken && read.scope == .admin)
        try await store.closeSession(token: session.token)
        #expect(try await store.session(token: session.token) == nil)
        let second = try #require(try await store.openSession(key: key, lifetime: .seconds(60)))
        let expired = try #require(try await store.openSession(key: key, lifetime: .seconds(0)))
        #expect(try await store.session(token: expired.token) == nil)
        _ = try await store.revoke(id: record.id)
        #expect(try await store.session(token: second.token) == nil, "revoking the key ends its sessions")
        await database?.shutDown()
    }

    @Test func apiNodesStartingTogetherAgreeOnOneAdminKey() async throws {
        let database = try await PostgresTestDatabase.start()
        var stores: [any APIKeyStore] = []
        for _ in 0..<4 { stores.append(PostgresAPIKeyStore(storage: try await database.open())) }
        let shown = try await withThrowingTaskGroup(of: String?.self) { group in
            for store in stores { group.addTask { try await store.ensureAdminKey(preset: nil) } }
            return try await group.reduce(into: [String]()) { if let key = $1 { $0.append(key) } }
        }
        #expect(shown.count == 1)
        #expect(try await stores[3].scope(of: try #require(shown.first)) == .admin)
        await database.shutDown()
    }
}
