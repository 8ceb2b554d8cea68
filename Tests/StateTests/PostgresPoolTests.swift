import Events
import Foundation
import PostgresNIO
@testable import State
import Testing

@Suite struct PostgresPoolTests {
    /// The server goes away long enough for postgres-nio's own pool to back off for seconds
    /// (100 ms × 1.25ⁿ: about 6 s between attempts after 25 s) and trip its circuit breaker:
    /// calls fail about a second into the outage and at once after that, and the first call
    /// after the server is back is answered within a probe interval, not a backoff later.
    @Test(.timeLimit(.minutes(2))) func aLongOutageFailsAtOnceAndIsOverAsSoonAsTheServerIsBack() async throws {
        let database = try await PostgresTestDatabase.start(deadline: .seconds(5))
        let store = PostgresChannelStore(storage: database.storage)
        let channel = try await store.create(StreamChannel(name: "outage"), pushSecret: "s")
        database.server.stop()
        let clock = ContinuousClock()
        let stopped = clock.now
        await #expect(throws: StateError.self) { _ = try await store.channel(channel.id) }
        let firstFailure = clock.now - stopped
        var slowest = Duration.zero
        // Calls through the outage (one a second, 25 at most): each fails, and at once.
        for _ in 0..<25 where clock.now - stopped < .seconds(25) {
            let asked = clock.now
            do {
                _ = try await store.list(nameContains: nil, limit: 1, after: nil)
                Issue.record("a stopped database answered")
            } catch let error as StateError {
                #expect(error.code == .storage)
            }
            slowest = max(slowest, clock.now - asked)
            try await Task.sleep(for: .seconds(1))
        }
        try database.server.start()
        let back = clock.now
        var found: StreamChannel?
        for _ in 0..<300 where found == nil && clock.now - back < .seconds(30) {
            found = try? await store.channel(channel.id)
            if found == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let recovery = clock.now - back
        print("postgres pool: first failure \(firstFailure) after the stop, slowest later failure \(slowest), answered again \(recovery) after the start")
        #expect(found == channel, "the storage finds the server again")
        #expect(firstFailure < .seconds(3.5), "the first call fails about a second in (probe), not at its 5 s deadline: \(firstFailure)")
        #expect(slowest < .seconds(1), "later calls fail at once: \(slowest)")
        #expect(recovery < .seconds(2), "answered within a few probe intervals of the start: \(recovery)")
        await database.shutDown()
    }

    /// The server goes away while a probe round is under way for a slow call (every pooled
    /// connection busy, the probe connected, the old pool being checked): a call made then fails
    /// about a second in, not at its deadline. Before, the round ended without a verdict and the
    /// suspicion the new call raised meanwhile was dropped (clean-clone CI: 5.0 s).
    @Test(.timeLimit(.minutes(1))) func theServerGoingAwayDuringAProbeRoundIsFoundByTheNextRound() async throws {
        let database = try await PostgresTestDatabase.start(deadline: .seconds(5))
        let storage = database.storage
        let store = PostgresChannelStore(storage: storage)
        let channel = try await store.create(StreamChannel(name: "busy"), pushSecret: "s")
        // Twenty calls hold the pool's twenty connections past the verdict (1 s): one of them has
        // the server probed, and the probe's check of the old pool waits for a connection.
        let sleepers = Task {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<20 {
                    group.addTask { _ = try? await storage.rows("sleep", "SELECT pg_sleep(4)") }
                }
            }
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while !storage.pool.isCheckingOldPool, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        try #require(storage.pool.isCheckingOldPool, "a probe round checks the busy pool")
        database.server.stop()
        let clock = ContinuousClock()
        let stopped = clock.now
        await #expect(throws: StateError.self) { _ = try await store.channel(channel.id) }
        let failure = clock.now - stopped
        await sleepers.value
        print("postgres pool: a call made as the server went away during a probe round failed after \(failure)")
        #expect(failure < .seconds(3.5), "found away by a probe about a second in, not at the 5 s deadline: \(failure)")
        await database.shutDown()
    }
}
