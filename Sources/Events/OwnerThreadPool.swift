import NIOConcurrencyHelpers

/// A few `OwnerThread`s for blocking calls that own nothing and may each block long (a
/// `getaddrinfo`, a file copy): a job goes to an idle thread, a new one while fewer than `size`
/// run, else the least busy. Threads start on first need and end with the pool, so the number of
/// threads stays bounded however many callers wait. Jobs on different threads run in any order.
public final class OwnerThreadPool: Sendable {
    private let name: String
    private let size: Int
    /// The threads started so far and the jobs queued or running on each: any task picks, and each
    /// thread counts its own jobs down, so a lock (held only to choose or count).
    private let threads = NIOLockedValueBox<[(thread: OwnerThread, pending: Int)]>([])

    /// - Parameters:
    ///   - name: the threads are `name-0`, `name-1`, …
    ///   - size: at most this many threads (at least one).
    public init(name: String, size: Int) {
        self.name = name
        self.size = max(1, size)
    }

    /// Runs `job` on one of the pool's threads and returns what it returned.
    /// - Throws: what `job` threw.
    public func run<T: Sendable>(_ job: @escaping @Sendable () throws -> T) async throws -> T {
        let (thread, done) = pick()
        return try await thread.run {
            defer { done() }
            return try job()
        }
    }

    /// Queues `job` on one of the pool's threads without waiting for it.
    public func submit(_ job: @escaping @Sendable () -> Void) {
        let (thread, done) = pick()
        if !thread.submit({ job(); done() }) { done() }
    }

    /// The thread for the next job, and what counts it down when that job is done.
    private func pick() -> (OwnerThread, @Sendable () -> Void) {
        let (index, thread) = threads.withLockedValue { threads -> (Int, OwnerThread) in
            let idle = threads.firstIndex { $0.pending == 0 }
            let chosen: Int
            if let idle {
                chosen = idle
            } else if threads.count < size {
                threads.append((OwnerThread(name: "\(name)-\(threads.count)"), 0))
                chosen = threads.count - 1
            } else {
                chosen = threads.indices.min { threads[$0].pending < threads[$1].pending }!
            }
            threads[chosen].pending += 1
            return (chosen, threads[chosen].thread)
        }
        return (thread, { [threads] in threads.withLockedValue { $0[index].pending -= 1 } })
    }
}
