import Events
import Foundation
import State
import Testing

@Suite struct PostgresLocationTests {
    @Test func urlsAreParsedOnceAndPasswordsStayOutOfLogs() throws {
        let location = try PostgresLocation(url: "postgres://sluice:s3cr%2Ft@db.internal:6543/meta?sslmode=require")
        #expect(location == PostgresLocation(host: "db.internal", port: 6543, user: "sluice", password: "s3cr/t", database: "meta",
                                             tls: .require))
        #expect(location.description == "postgres://sluice:…@db.internal:6543/meta")
        #expect(try PostgresLocation(url: "postgresql://app@[::1]/sluice") == PostgresLocation(host: "::1", user: "app", database: "sluice"))
        for bad in ["redis://u@h:1/d", "postgres://h:5432/d", "postgres://u@:5432/d", "postgres://u@h:5432/", "postgres://u@h:0/d",
                    "postgres://u@h/d/e", "postgres://u@h/d?sslmode=sometimes", "postgres://u@h/d?host=/tmp", "not a url"] {
            #expect(throws: StateError.self, "\(bad)") { try PostgresLocation(url: bad) }
        }
    }
}

@Suite struct PostgresStorageTests {
    @Test func nodesStartingTogetherMigrateOnce() async throws {
        let database = try await PostgresTestDatabase.start()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 { group.addTask { _ = try await database.open() } }
            try await group.waitForAll()
        }
        let versions = try await database.storage.schemaVersions()
        #expect(versions == [1, 2, 3, 4, 5, 6])
        await database.shutDown()
    }

    /// The database goes away: calls fail with `.storage` (the API's 503) within the deadline
    /// instead of hanging, and work again once it is back, on the same storage.
    @Test(.timeLimit(.minutes(2))) func aDatabaseThatGoesAwayFailsClearlyAndIsFoundAgain() async throws {
        let database = try await PostgresTestDatabase.start(deadline: .seconds(5))
        let store = PostgresChannelStore(storage: database.storage)
        let channel = try await store.create(StreamChannel(name: "outage"), pushSecret: "s")
        database.server.stop()
        let started = ContinuousClock.now
        await #expect(throws: StateError.self) { _ = try await store.channel(channel.id) }
        do {
            _ = try await store.list(nameContains: nil, limit: 1, after: nil)
            Issue.record("a stopped database answered")
        } catch let error as StateError {
            #expect(error.code == .storage)
        }
        #expect(ContinuousClock.now - started < .seconds(13), "failures come within the deadline (5 s a call, two calls)")
        try database.server.start()
        let deadline = ContinuousClock.now + .seconds(60)
        var found: StreamChannel?
        while found == nil, ContinuousClock.now < deadline {
            found = try? await store.channel(channel.id)
            if found == nil { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(found == channel, "the pool reconnects once the server is back")
        await database.shutDown()
    }
}
