import Foundation
import Testing
@testable import Events

/// The one home of blocking work: order, results and errors, draining on stop, idle steps, and
/// threads that really end.
@Suite struct OwnerThreadTests {
    struct Refused: Error, Equatable {}

    @Test func jobsRunInSubmissionOrderOnOneNamedThread() async throws {
        let owner = OwnerThread(name: "test-order")
        let seen = Shared<[Int]>([])
        let names = Shared<Set<String>>([])
        for index in 0..<200 {
            owner.submit {
                seen.withLock { $0.append(index) }
                _ = names.withLock { $0.insert(Self.currentThreadName()) }
            }
        }
        let last = try await owner.run { seen.withLock { $0.count } }
        #expect(last == 200)
        #expect(seen.withLock { $0 } == Array(0..<200))
        #expect(names.withLock { $0 } == ["test-order"])
        await finish(owner)
    }

    @Test func runReturnsResultsAndThrowsErrors() async throws {
        let owner = OwnerThread(name: "test-run")
        #expect(try await owner.run { 6 * 7 } == 42)
        await #expect(throws: Refused.self) { try await owner.run { () throws -> Int in throw Refused() } }
        #expect(try await owner.run { "still serving" } == "still serving")
        await finish(owner)
    }

    @Test func stopRunsWhatIsQueuedThenRefusesMore() async throws {
        let owner = OwnerThread(name: "test-stop")
        let ran = Shared(0)
        let gate = DispatchSemaphore(value: 0)
        owner.submit { gate.wait() }
        for _ in 0..<50 { owner.submit { ran.withLock { $0 += 1 } } }
        owner.stop()
        let accepted = owner.submit { ran.withLock { $0 += 1000 } }
        #expect(!accepted)
        await #expect(throws: EventBusError.self) { try await owner.run { 1 } }
        gate.signal()
        await owner.join()
        #expect(ran.withLock { $0 } == 50)
    }

    @Test func manyTasksGetTheirOwnAnswers() async throws {
        let owner = OwnerThread(name: "test-many")
        let inside = Shared(0)
        let overlapped = Shared(false)
        let sums = try await withThrowingTaskGroup(of: Int.self) { group in
            for task in 0..<32 {
                group.addTask {
                    var sum = 0
                    for step in 0..<20 {
                        sum += try await owner.run {
                            // Serial: no other job is ever inside at the same time.
                            if inside.withLock({ $0 += 1; return $0 }) > 1 { overlapped.withLock { $0 = true } }
                            defer { inside.withLock { $0 -= 1 } }
                            return task * 100 + step
                        }
                    }
                    return sum
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(!overlapped.withLock { $0 })
        #expect(sums == (0..<32).reduce(0) { $0 + $1 * 2000 } + 32 * 190)
        await finish(owner)
    }

    @Test func idleStepRunsUntilItAsksToWaitAndAgainWhenWoken() async throws {
        let polls = Shared(0)
        let (rests, resting) = AsyncStream<Int>.makeStream()
        let owner = OwnerThread(name: "test-idle") {
            // Three polls, then nothing to do until woken.
            let count = polls.withLock { $0 += 1; return $0 }
            guard count % 3 == 0 else { return .again }
            resting.yield(count)
            return .waitForWork
        }
        var iterator = rests.makeAsyncIterator()
        let first = await iterator.next()
        #expect(first == 3)
        owner.wake()
        let second = await iterator.next()
        #expect(second == 6)
        owner.wake()
        let third = await iterator.next()
        #expect(third == 9)
        // Stopping does not run the idle step again.
        await finish(owner)
        #expect(polls.withLock { $0 } == 9)
    }

    @Test func stopAndWaitBlocksUntilTheLastJobRan() {
        let owner = OwnerThread(name: "test-wait")
        let ran = Shared(false)
        owner.submit { ran.withLock { $0 = true } }
        owner.stopAndWait()
        #expect(ran.withLock { $0 })
        let nested = OwnerThread(name: "test-self")
        let returned = DispatchSemaphore(value: 0)
        // From its own thread it only stops (waiting there could never end).
        nested.submit { nested.stopAndWait(); returned.signal() }
        #expect(returned.wait(timeout: .now() + 10) == .success)
    }

    @Test func stoppedThreadsEnd() async throws {
        for round in 0..<5 {
            let owners = (0..<20).map { OwnerThread(name: "owner-leak-\(round)-\($0)") }
            for owner in owners { _ = try await owner.run { 1 } }
            #expect(Self.threads(named: "owner-leak-\(round)-") == 20)
            for owner in owners { await finish(owner) }
        }
        // 100 threads came and went; a leak would leave 20 a round. A thread that has resumed its
        // joiners may still be on its way out, hence a margin rather than zero.
        #expect(Self.threads(named: "owner-leak-") < 10)
    }

    @Test func aPoolNeverStartsMoreThanItsSize() async throws {
        let pool = OwnerThreadPool(name: "test-pool", size: 3)
        let gate = DispatchSemaphore(value: 0)
        // All three threads busy: later jobs must queue on them, not start a fourth.
        for _ in 0..<3 { pool.submit { gate.wait() } }
        let names = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<30 { group.addTask { try await pool.run { Self.currentThreadName() } } }
            for _ in 0..<3 { gate.signal() }
            return try await group.reduce(into: Set<String>()) { _ = $0.insert($1) }
        }
        #expect(names.isSubset(of: ["test-pool-0", "test-pool-1", "test-pool-2"]))
        await #expect(throws: Refused.self) { try await pool.run { () throws -> Int in throw Refused() } }
    }

    @Test func namesAreCutToWholeCharactersWithinLinuxsLimit() {
        #expect(OwnerThread.osName("kafka-consumer") == "kafka-consumer")
        #expect(OwnerThread.osName("transcode.a-long-stream-name") == "transcode.a-lon")
        #expect(OwnerThread.osName("mp4.caméra-de-garde") == "mp4.caméra-de-")
        #expect(OwnerThread.osName("mp4.caméra-de-garde").utf8.count == 15)
    }

    private func finish(_ owner: OwnerThread) async {
        owner.stop()
        await owner.join()
    }

    /// The OS name of the calling thread (Linux; elsewhere Foundation's).
    static func currentThreadName() -> String {
        let name = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? Thread.current.name ?? ""
        return name.trimmingCharacters(in: .newlines)
    }

    /// Threads of this process whose OS name starts with `prefix` (Linux; elsewhere none).
    static func threads(named prefix: String) -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { task in
            let name = (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)) ?? ""
            return name.hasPrefix(prefix)
        }.count
    }
}

/// A value the test and owner threads both touch.
private final class Shared<Value: Sendable>: @unchecked Sendable {
    // @unchecked: `value` is only touched with `lock` held.
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
