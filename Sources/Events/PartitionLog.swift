import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// One topic's log. All state sits behind one lock; waiters are resumed outside it.
final class PartitionLog: Sendable {
    private struct Entry {
        var offset: Int64
        var record: BusRecord
        var bytes: Int
        var appendedAt: Int64
        var publishedAt: Date
    }

    private struct State {
        var entries = CircularBuffer<Entry>()
        var nextOffset: Int64 = 0
        var bytes = 0
        var closed = false
        var skipped: Int64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiterID: UInt64 = 0
        var statistics = BusStatistics()
        /// The next offset of each reader, for consumer lag.
        var readers: [UInt64: Int64] = [:]
        var nextReaderID: UInt64 = 0
        var baseOffset: Int64 { entries.first?.offset ?? nextOffset }
    }

    let topic: Topic
    private let retention: EmbeddedEventBus.Retention
    /// Guards entries, readers and waiters: `append` runs inside the publisher's synchronous call and
    /// must not suspend, while cursors read from their own tasks; so a lock, not an actor.
    private let state = NIOLockedValueBox(State())

    init(topic: Topic, retention: EmbeddedEventBus.Retention) {
        self.topic = topic
        self.retention = retention
    }

    var skipped: Int64 { state.withLockedValue { $0.skipped } }

    var statistics: BusStatistics {
        state.withLockedValue { state in
            var statistics = state.statistics
            statistics.consumerLag = state.readers.values.min().map { max(0, state.nextOffset - $0) } ?? 0
            return statistics
        }
    }

    /// A reader starting at `offset`, tracked for consumer lag until `removeReader`.
    func addReader(at offset: Int64) -> UInt64 {
        state.withLockedValue { state in
            defer { state.nextReaderID &+= 1 }
            state.readers[state.nextReaderID] = offset
            return state.nextReaderID
        }
    }

    func removeReader(_ id: UInt64) {
        state.withLockedValue { _ = $0.readers.removeValue(forKey: id) }
    }

    /// Appends `record`; returns its offset.
    @discardableResult
    func append(_ record: BusRecord) throws -> Int64 {
        let now = Int64(NIODeadline.now().uptimeNanoseconds)
        let (offset, waiters): (Int64, [CheckedContinuation<Void, Never>]) = try state.withLockedValue { state in
            guard !state.closed else { throw EventBusError(.closed, "publish to \(topic.name) after shutdown") }
            let bytes = record.payloadBytes
            state.entries.append(Entry(offset: state.nextOffset, record: record, bytes: bytes, appendedAt: now, publishedAt: Date()))
            state.nextOffset += 1
            state.bytes += bytes
            trim(&state, now: now)
            state.statistics.published += 1
            state.statistics.publishNanoseconds += Int64(NIODeadline.now().uptimeNanoseconds) - now
            defer { state.waiters.removeAll(keepingCapacity: true) }
            return (state.nextOffset - 1, Array(state.waiters.values))
        }
        for waiter in waiters { waiter.resume() }
        return offset
    }

    private func trim(_ state: inout State, now: Int64) {
        while let oldest = state.entries.first,
              state.entries.count > retention.maxRecords || state.bytes > retention.maxBytes
                || now - oldest.appendedAt > retention.maxAgeNanoseconds {
            state.bytes -= oldest.bytes
            state.entries.removeFirst()
        }
    }

    /// Resumes every waiting reader without new data; each re-checks its task and the log.
    func wakeWaiters() {
        let waiters = state.withLockedValue { state in
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    func close() {
        let waiters = state.withLockedValue { state in
            state.closed = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    enum ReadResult {
        case delivery(BusDelivery)
        case closed
        case waiting
        /// Nothing to read and the reading task is cancelled: the waiter was not registered.
        case cancelled
    }

    /// Reads the record at `offset` (moving it forward past trimmed records), or registers
    /// `waiter` to be resumed on the next append. A delivery moves `reader` past it.
    func read(at offset: inout Int64, reader: UInt64, orRegister waiter: CheckedContinuation<Void, Never>?) -> ReadResult {
        state.withLockedValue { state in
            if offset < state.baseOffset {
                state.skipped += state.baseOffset - offset
                offset = state.baseOffset
            }
            if offset < state.nextOffset {
                let entry = state.entries[state.entries.index(state.entries.startIndex,
                                                              offsetBy: Int(offset - state.baseOffset))]
                state.readers[reader] = entry.offset + 1
                state.statistics.consumed += 1
                state.statistics.consumeDelayNanoseconds += Int64(NIODeadline.now().uptimeNanoseconds) - entry.appendedAt
                return .delivery(BusDelivery(topic: topic, partition: 0, offset: entry.offset, record: entry.record,
                                             publishedAt: entry.publishedAt))
            }
            if state.closed { return .closed }
            if let waiter {
                // Checked under the lock `wakeWaiters` takes: a cancellation whose handler already
                // woke the waiters is seen here, so no waiter is registered after its wake-up.
                guard !Task.isCancelled else { return .cancelled }
                state.waiters[state.nextWaiterID] = waiter
                state.nextWaiterID &+= 1
            }
            return .waiting
        }
    }

    func startOffset(for start: SubscriptionStart) -> Int64 {
        state.withLockedValue { state in
            switch start {
            case .beginning: return state.baseOffset
            case .end: return state.nextOffset
            case .offset(let offset): return max(offset, state.baseOffset)
            }
        }
    }
}

extension BusRecord {
    /// Bytes counted against retention: the media payload, or a nominal size for an event.
    var payloadBytes: Int {
        switch value {
        case .frame(let frame): return frame.payload.readableBytes + 64
        case .lifecycle, .channel, .asset, .webhookDeadLetter, .command: return 256
        }
    }
}
