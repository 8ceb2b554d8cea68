import NIOConcurrencyHelpers
import NIOCore

/// A bounded hand-over from a consumer's thread to async readers. Neither side sleeps: a reader
/// with nothing to take waits on a continuation that `offer` resumes; the thread, finding the
/// buffer full, keeps its record and waits for the reader's `OwnerThread.wake()`.
final class MessageBuffer: Sendable {
    private struct State {
        var items = CircularBuffer<KafkaMessage>()
        var waiter: CheckedContinuation<KafkaMessage?, Never>?
        var finished = false
    }

    private let capacity: Int
    /// Guards the items, the waiting reader and the end: the consumer's thread offers (a plain
    /// thread, it cannot await), tasks take.
    private let state = NIOLockedValueBox(State())

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Hands `message` to a waiting reader or queues it; false (taking nothing) when full.
    func offer(_ message: KafkaMessage) -> Bool {
        let (accepted, waiter): (Bool, CheckedContinuation<KafkaMessage?, Never>?) = state.withLockedValue { state in
            if let waiter = state.waiter {
                state.waiter = nil
                return (true, waiter)
            }
            guard state.items.count < capacity else { return (false, nil) }
            state.items.append(message)
            return (true, nil)
        }
        waiter?.resume(returning: message)
        return accepted
    }

    func take() async -> KafkaMessage? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<KafkaMessage?, Never>) in
                let ready: KafkaMessage?? = state.withLockedValue { state in
                    if let first = state.items.popFirst() { return .some(first) }
                    if state.finished || Task.isCancelled { return .some(nil) }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = state.withLockedValue { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
    }

    func removeAll(where shouldRemove: (KafkaMessage) -> Bool) {
        state.withLockedValue { state in
            state.items = CircularBuffer(state.items.filter { !shouldRemove($0) })
        }
    }

    func finish() {
        let waiter = state.withLockedValue { state in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }
}
