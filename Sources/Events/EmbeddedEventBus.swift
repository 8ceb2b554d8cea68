import NIOConcurrencyHelpers
import NIOCore

/// The single-machine event bus: one ordered, in-memory log per topic, with retention by age,
/// count and bytes. Values are stored as they are published, so a frame's payload reaches
/// every consumer without a copy.
///
/// Consumers read at their own pace; one that falls behind the retention window skips to the
/// oldest retained record (and `skippedRecords` counts what it missed). Publishing never waits.
public final class EmbeddedEventBus: EventBus {
    /// Retention of one topic's log.
    public struct Retention: Sendable {
        /// Oldest record kept, in nanoseconds of the monotonic clock. Default 10 s.
        public var maxAgeNanoseconds: Int64
        /// Most records kept. Default 200,000.
        public var maxRecords: Int
        /// Most payload bytes kept. Default 128 MiB.
        public var maxBytes: Int

        public init(maxAgeNanoseconds: Int64 = 10_000_000_000, maxRecords: Int = 200_000, maxBytes: Int = 128 << 20) {
            precondition(maxAgeNanoseconds > 0 && maxRecords > 0 && maxBytes > 0, "retention must be positive")
            self.maxAgeNanoseconds = maxAgeNanoseconds
            self.maxRecords = maxRecords
            self.maxBytes = maxBytes
        }
    }

    private let logs: [Topic: PartitionLog]

    public init(retention: Retention = Retention()) {
        var logs: [Topic: PartitionLog] = [:]
        for topic in Topic.allCases {
            logs[topic] = PartitionLog(topic: topic, retention: retention)
        }
        self.logs = logs
    }

    public func publish(_ record: BusRecord, to topic: Topic) throws {
        try logs[topic]!.append(record)
    }

    public func subscribe(to topic: Topic, from start: SubscriptionStart) -> BusSubscription {
        BusSubscription(cursor: EmbeddedCursor(log: logs[topic]!, start: start))
    }

    public func shutdown() async {
        for log in logs.values { log.close() }
    }

    /// Records a consumer of `topic` skipped because it fell behind retention.
    public func skippedRecords(_ topic: Topic) -> Int64 { logs[topic]!.skipped }
}

/// One topic's log. All state sits behind one lock; waiters are resumed outside it.
final class PartitionLog: Sendable {
    private struct Entry {
        var offset: Int64
        var record: BusRecord
        var bytes: Int
        var appendedAt: Int64
    }

    private struct State {
        var entries = CircularBuffer<Entry>()
        var nextOffset: Int64 = 0
        var bytes = 0
        var closed = false
        var skipped: Int64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiterID: UInt64 = 0
        var baseOffset: Int64 { entries.first?.offset ?? nextOffset }
    }

    let topic: Topic
    private let retention: EmbeddedEventBus.Retention
    private let state = NIOLockedValueBox(State())

    init(topic: Topic, retention: EmbeddedEventBus.Retention) {
        self.topic = topic
        self.retention = retention
    }

    var skipped: Int64 { state.withLockedValue { $0.skipped } }

    func append(_ record: BusRecord) throws {
        let now = Int64(NIODeadline.now().uptimeNanoseconds)
        let waiters: [CheckedContinuation<Void, Never>] = try state.withLockedValue { state in
            guard !state.closed else { throw EventBusError(.closed, "publish to \(topic.name) after shutdown") }
            let bytes = record.payloadBytes
            state.entries.append(Entry(offset: state.nextOffset, record: record, bytes: bytes, appendedAt: now))
            state.nextOffset += 1
            state.bytes += bytes
            trim(&state, now: now)
            defer { state.waiters.removeAll(keepingCapacity: true) }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
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
    }

    /// Reads the record at `offset` (moving it forward past trimmed records), or registers
    /// `waiter` to be resumed on the next append.
    func read(at offset: inout Int64, orRegister waiter: CheckedContinuation<Void, Never>?) -> ReadResult {
        state.withLockedValue { state in
            if offset < state.baseOffset {
                state.skipped += state.baseOffset - offset
                offset = state.baseOffset
            }
            if offset < state.nextOffset {
                let entry = state.entries[state.entries.index(state.entries.startIndex,
                                                              offsetBy: Int(offset - state.baseOffset))]
                return .delivery(BusDelivery(topic: topic, partition: 0, offset: entry.offset, record: entry.record))
            }
            if state.closed { return .closed }
            if let waiter {
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

/// A reader of one `PartitionLog`. Used by one task at a time (an `AsyncIterator`); the
/// position lives behind a lock only so the cursor can be `Sendable`.
final class EmbeddedCursor: BusCursor {
    private let log: PartitionLog
    private let position: NIOLockedValueBox<Int64>

    init(log: PartitionLog, start: SubscriptionStart) {
        self.log = log
        self.position = NIOLockedValueBox(log.startOffset(for: start))
    }

    func next() async throws -> BusDelivery? {
        while !Task.isCancelled {
            var offset = position.withLockedValue { $0 }
            switch log.read(at: &offset, orRegister: nil) {
            case .delivery(let delivery):
                position.withLockedValue { $0 = delivery.offset + 1 }
                return delivery
            case .closed:
                return nil
            case .waiting:
                await waitForAppend(after: offset)
            }
        }
        return nil
    }

    private func waitForAppend(after offset: Int64) async {
        // An append, a close or a cancellation resumes the wait; the caller's loop re-checks which.
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                var probe = offset
                if case .waiting = log.read(at: &probe, orRegister: continuation) { return }
                continuation.resume()
            }
        } onCancel: {
            log.wakeWaiters()
        }
    }
}

extension BusRecord {
    /// Bytes counted against retention: the media payload, or a nominal size for an event.
    var payloadBytes: Int {
        switch value {
        case .frame(let frame): return frame.payload.readableBytes + 64
        case .lifecycle: return 256
        }
    }
}
