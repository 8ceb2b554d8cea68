import Logging
import NIOConcurrencyHelpers
import NIOPosix
import PostgresNIO

/// postgres-nio's connection pool, replaced by a fresh one when the server comes back, and what
/// this node knows of whether the server answers.
///
/// Why not the pool alone: while the server is away postgres-nio queues each call until it
/// connects again, and it tries again after 100 ms × 1.25ⁿ (up to 60 s; after 15 s of failures a
/// circuit breaker fails calls at once but keeps that backoff). A node then answered every call
/// only when its deadline passed, and found a restarted server seconds after it was back, the
/// later the longer the outage (14 s after the stop in one manual check). Here a call that has
/// waited `verdictAfter` has the server probed with a connection of its own: when the probe is
/// refused the server is marked down, the waiting calls and every new one fail at once
/// (`.storage`: the API's 503), and the probe repeats every `probeInterval`; once it connects, a
/// fresh pool (whose first call connects at once) takes the old one's place.
final class PostgresPool: Sendable {
    private struct State {
        var client: PostgresClient
        var running: Task<Void, Never>
        /// When a probe was first refused; nil while the server answers.
        var downSince: ContinuousClock.Instant?
        var prober: Task<Void, Never>?
        /// Counts `suspect()` calls: one made after a probe round's probe connected has the round
        /// run again, since the server may have gone away since.
        var suspicions = 0
        /// Whether a probe round is checking the old pool (`poolAnswers`), for tests to wait on.
        var checkingOldPool = false
        /// Calls waiting for a verdict, resumed when the server is marked down.
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
        var closed = false
    }

    /// How long a call waits before the server is probed on its behalf.
    let verdictAfter: Duration
    private let probeInterval: Duration
    private let deadline: Duration
    private let configuration: PostgresClient.Configuration
    private let probeConfiguration: PostgresConnection.Configuration?
    private let logger: Logger
    // The pool, its health and the waiting calls: changed by callers' tasks and the prober's, read
    // synchronously to decide at once whether a call fails fast; so a lock, never held across an await.
    private let state: NIOLockedValueBox<State>

    /// - Parameters:
    ///   - probe: how a probe connects (the pool's server and credentials); nil: it never does.
    ///   - deadline: how long a probe, or a check of the old pool, may take.
    ///   - verdictAfter: default 1 s; `probeInterval` default 250 ms.
    init(configuration: PostgresClient.Configuration, probe: PostgresConnection.Configuration?, deadline: Duration,
         logger: Logger, verdictAfter: Duration = .seconds(1), probeInterval: Duration = .milliseconds(250)) {
        self.configuration = configuration
        self.probeConfiguration = probe
        self.deadline = deadline
        self.logger = logger
        self.verdictAfter = verdictAfter
        self.probeInterval = probeInterval
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        state = NIOLockedValueBox(State(client: client, running: Task { await client.run() }))
    }

    /// The pool to run a call on; throws at once while the server is marked down.
    func admit(_ what: String) throws -> PostgresClient {
        try state.withLockedValue { state in
            if let since = state.downSince, !state.closed {
                throw StateError(.storage, "\(what): the database is unreachable (for \(ContinuousClock.now - since)); reconnecting")
            }
            return state.client
        }
    }

    /// Whether a probe round is checking the old pool now (the server answered its probe).
    var isCheckingOldPool: Bool { state.withLockedValue { $0.checkingOldPool } }

    /// A call failed in a way that may mean the server is away: probe it (one prober at a time).
    func suspect() {
        state.withLockedValue { state in
            state.suspicions &+= 1
            guard state.prober == nil, !state.closed else { return }
            state.prober = Task { await self.probeUntilReachable() }
        }
    }

    /// Returns once the server is marked down (or the pool closed, or the task cancelled).
    func waitUntilDown() async {
        let id = state.withLockedValue { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                let now = state.withLockedValue { state in
                    guard state.downSince == nil, !state.closed, !Task.isCancelled else { return true }
                    state.waiters[id] = waiter
                    return false
                }
                if now { waiter.resume() }
            }
        } onCancel: {
            state.withLockedValue { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Stops probing and closes the pool; calls fail afterwards.
    func close() async {
        let (running, prober, waiters) = state.withLockedValue { state in
            state.closed = true
            defer { state.waiters = [:] }
            return (state.running, state.prober, Array(state.waiters.values))
        }
        waiters.forEach { $0.resume() }
        prober?.cancel()
        running.cancel()
        await prober?.value
        await running.value
    }

    // MARK: Probing

    /// Probe rounds until one ends with no new suspicion raised after its probe connected.
    private func probeUntilReachable() async {
        while let answered = await probeRound() {
            // The server answered: it is up again. A call that suspected it after the probe had
            // connected (say, while the old pool was checked) has it probed again a probe interval
            // later, as the server may have gone away since; suspicions from before the probe
            // connected (the calls a refused probe failed, say) are answered by it.
            let (again, since) = state.withLockedValue { state -> (Bool, ContinuousClock.Instant?) in
                let again = state.suspicions != answered
                defer {
                    state.downSince = nil
                    if !again { state.prober = nil }
                }
                return (again, state.downSince)
            }
            if let since { logger.notice("database reachable again", metadata: ["down": "\(ContinuousClock.now - since)"]) }
            guard again else { return }
            try? await Task.sleep(for: probeInterval)
        }
    }

    /// Probes until the server answers, then keeps or replaces the pool. Returns the suspicions
    /// counted when the probe connected (nil when cancelled).
    private func probeRound() async -> Int? {
        while !Task.isCancelled, !(await reachable()) {
            markDown()
            try? await Task.sleep(for: probeInterval)
        }
        guard !Task.isCancelled else { return nil }
        let (wasDown, answered) = state.withLockedValue { ($0.downSince != nil, $0.suspicions) }
        // After an outage the old pool is in backoff: replace it. After a lone failure the server
        // answered a probe at once, so the old pool is kept unless it fails at once too (its
        // circuit breaker after an outage nobody called through). A pool that is merely slow
        // (every connection busy) is kept: replacing it would end the calls it is running.
        if wasDown {
            replaceClient()
        } else {
            state.withLockedValue { $0.checkingOldPool = true }
            let answers = await poolAnswers()
            state.withLockedValue { $0.checkingOldPool = false }
            if answers == false { replaceClient() }
        }
        return answered
    }

    /// Whether a connection of its own reaches the server and logs in, within the deadline.
    private func reachable() async -> Bool {
        guard let configuration = probeConfiguration else { return false }
        let logger = logger
        return await Self.answer(within: deadline) {
            guard let connection = try? await PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.next(),
                                                                         configuration: configuration, id: 0, logger: logger)
            else { return false }
            try? await connection.close()
            return true
        } ?? false
    }

    /// Whether the current pool runs `SELECT 1`; nil when it did not answer within `verdictAfter`
    /// (a pool whose server went away meanwhile waits for a connection, not fails: the next
    /// round's probe finds that out).
    private func poolAnswers() async -> Bool? {
        let (client, logger) = (state.withLockedValue { $0.client }, logger)
        return await Self.answer(within: min(deadline, verdictAfter)) {
            (try? await client.withConnection { try await $0.query("SELECT 1", logger: logger) }) != nil
        }
    }

    /// What `check` answers, or nil once `deadline` passed. Unlike a task group this returns
    /// at the deadline even when `check` does not end when cancelled (a connection's login
    /// waits on a future), so a server that accepts and then says nothing cannot stall probing.
    private static func answer(within deadline: Duration, _ check: @escaping @Sendable () async -> Bool) async -> Bool? {
        // Taken once by whichever of the check and the timer ends first: they race on two tasks, so a lock.
        let waiting = NIOLockedValueBox<CheckedContinuation<Bool?, Never>?>(nil)
        let finish: @Sendable (Bool?) -> Void = { value in
            waiting.withLockedValue { waiter in
                defer { waiter = nil }
                return waiter
            }?.resume(returning: value)
        }
        return await withCheckedContinuation { continuation in
            waiting.withLockedValue { $0 = continuation }
            // Set here, read by the timer's task to cancel the attempt: two tasks, so a lock.
            let attempt = NIOLockedValueBox<Task<Void, Never>?>(nil)
            let timer = Task {
                try? await Task.sleep(for: deadline)
                guard !Task.isCancelled else { return }
                attempt.withLockedValue { $0 }?.cancel()
                finish(nil)
            }
            attempt.withLockedValue { $0 = Task {
                let value = await check()
                timer.cancel()
                finish(value)
            } }
        }
    }

    private func markDown() {
        let (first, waiters) = state.withLockedValue { state in
            let first = state.downSince == nil
            if first { state.downSince = .now }
            defer { state.waiters = [:] }
            return (first, Array(state.waiters.values))
        }
        waiters.forEach { $0.resume() }
        if first { logger.warning("database unreachable; calls fail at once until a probe connects again") }
    }

    /// A fresh pool in the old one's place; the old one is closed (its connections are dead or
    /// backing off).
    private func replaceClient() {
        let (configuration, logger) = (configuration, logger)
        let old: Task<Void, Never>? = state.withLockedValue { state in
            guard !state.closed else { return nil }
            let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
            defer { (state.client, state.running) = (client, Task { await client.run() }) }
            return state.running
        }
        old?.cancel()
    }
}
