import Foundation
import NIOCore

/// A named OS thread of its own that owns one blocking resource (a C handle, a file, an FFmpeg
/// context) and runs the jobs handed to it one at a time, in the order they were submitted.
///
/// It is Sluice's one way to run blocking C code and file I/O: never on an event loop, never on
/// the cooperative pool, and not on a `DispatchQueue` either (a serial queue borrows Dispatch's
/// shared worker threads, so many streams blocked in FFmpeg at once starve or grow that pool).
///
/// With nothing to do the thread waits on a condition variable. A resource that must be served
/// between jobs (librdkafka's poll) gives an `idle` step: it runs whenever no job is queued, blocks
/// for a short, bounded time of its own (a poll timeout), and says whether to call it again or to
/// wait for the next job or `wake()`. `stop()` lets the queued jobs run and then ends the thread;
/// `join()` waits for that end.
public final class OwnerThread: Sendable {
    /// What the idle step wants next.
    public enum IdleStep: Sendable {
        /// Call the idle step again (after any jobs that arrived meanwhile).
        case again
        /// Wait for a job, `wake()` or `stop()` before calling it again.
        case waitForWork
    }

    /// The name given at init (the OS thread's is its first 15 bytes, `osName`).
    public let name: String
    private let mailbox: Mailbox

    /// Starts the thread.
    /// - Parameters:
    ///   - name: the thread's name, cut to 15 bytes (Linux refuses longer ones): put what tells
    ///     threads apart (a stream ID) early, or keep it short.
    ///   - idle: run whenever no job is queued; nil to wait for jobs only.
    public init(name: String, idle: (@Sendable () -> IdleStep)? = nil) {
        self.name = name
        let mailbox = Mailbox()
        self.mailbox = mailbox
        let osName = Self.osName(name)
        let thread = Thread {
            Self.nameCurrentThread(osName)
            mailbox.serve(idle: idle)
        }
        thread.name = osName
        thread.start()
    }

    /// The longest whole-character prefix of `name` that fits Linux's 15-byte thread names (a
    /// longer one is not set at all, and `top -H` shows the process name instead).
    static func osName(_ name: String) -> String {
        var kept = ""
        for character in name {
            guard kept.utf8.count + character.utf8.count <= 15 else { break }
            kept.append(character)
        }
        return kept
    }

    /// Gives the OS thread its name from inside it: Foundation on Linux does not reliably pass on a
    /// name set before `start` (`top -H` and `/proc` showed the creator's name).
    private static func nameCurrentThread(_ name: String) {
        #if os(Linux)
        guard let file = fopen("/proc/thread-self/comm", "w") else { return }
        fputs(name, file)
        fclose(file)
        #endif
    }

    /// Ends the thread once the jobs already queued have run (it holds nothing of this object).
    deinit { mailbox.stop() }

    /// Queues `job` without waiting for it.
    /// - Returns: false, and drops the job, once `stop()` was called.
    @discardableResult
    public func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        mailbox.enqueue(job)
    }

    /// Runs `job` on the thread after the jobs queued before it, and returns what it returned.
    /// - Throws: what `job` threw, or `EventBusError` `.closed` once `stop()` was called.
    public func run<T: Sendable>(_ job: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            let queued = mailbox.enqueue { continuation.resume(with: Result { try job() }) }
            if !queued { continuation.resume(throwing: EventBusError(.closed, "\(name) has stopped")) }
        }
    }

    /// Has an idle step that asked to wait run again (say, a consumer whose buffer was full and
    /// now has room).
    public func wake() { mailbox.wake() }

    /// Refuses new jobs; the thread runs those already queued, then ends. The idle step does not
    /// run again.
    public func stop() { mailbox.stop() }

    /// Waits until the thread has ended (after `stop()`).
    public func join() async { await mailbox.join() }

    /// Stops the thread and blocks the calling thread until it has ended (for synchronous
    /// shutdown paths). From a job on the thread itself it only stops.
    public func stopAndWait() {
        mailbox.stop()
        mailbox.waitUntilFinished()
    }
}

/// The jobs and flags an `OwnerThread` shares with its callers.
private final class Mailbox: @unchecked Sendable {
    // @unchecked: every var below is only read or written with `condition` locked.
    /// A lock and condition variable, not a `NIOLockedValueBox`: the thread must sleep until a
    /// caller signals it, and callers that wait synchronously (`waitUntilFinished`) wait on it too.
    private let condition = NSCondition()
    private var jobs = CircularBuffer<@Sendable () -> Void>()
    private var stopping = false
    private var woken = false
    private var finished = false
    private var joiners: [CheckedContinuation<Void, Never>] = []
    private var owner: pthread_t?

    func enqueue(_ job: @escaping @Sendable () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    func wake() {
        condition.lock()
        woken = true
        condition.signal()
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    /// The thread's body: jobs first, in order, then the idle step; ends when stopped and empty.
    func serve(idle: (@Sendable () -> OwnerThread.IdleStep)?) {
        condition.lock()
        owner = pthread_self()
        condition.unlock()
        var idleWaits = idle == nil
        while true {
            condition.lock()
            while jobs.isEmpty, !stopping, idleWaits, !woken { condition.wait() }
            woken = false
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            let ending = stopping
            condition.unlock()
            for job in batch { job() }
            if ending {
                if batch.isEmpty { break }
                continue
            }
            if let idle { idleWaits = idle() == .waitForWork }
        }
        finish()
    }

    private func finish() {
        condition.lock()
        finished = true
        let waiting = joiners
        joiners.removeAll()
        condition.broadcast()
        condition.unlock()
        for joiner in waiting { joiner.resume() }
    }

    func join() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            let done = finished
            if !done { joiners.append(continuation) }
            condition.unlock()
            if done { continuation.resume() }
        }
    }

    func waitUntilFinished() {
        condition.lock()
        defer { condition.unlock() }
        if let owner, pthread_equal(owner, pthread_self()) != 0 { return }
        while !finished { condition.wait() }
    }
}
