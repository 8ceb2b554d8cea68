import NIOConcurrencyHelpers

/// A reader of one `PartitionLog`. Used by one task at a time (an `AsyncIterator`); the
/// position lives behind a lock only so the cursor can be `Sendable`.
final class EmbeddedCursor: BusCursor {
    private let log: PartitionLog
    // Read and advanced by the one reading task; a lock only so the cursor can be `Sendable` (no contention).
    private let position: NIOLockedValueBox<Int64>
    private let reader: UInt64
    /// Records of other keys are passed over; nil: every record.
    private let key: String?
    /// Told the offset of each delivery once the reader asks for the next one (a group's commit).
    private let handled: (@Sendable (Int64) -> Void)?
    /// The offset delivered last, committed through `handled` on the next read; locked like `position`.
    private let lastDelivered = NIOLockedValueBox<Int64?>(nil)

    init(log: PartitionLog, start: SubscriptionStart, key: String? = nil, handled: (@Sendable (Int64) -> Void)? = nil) {
        self.log = log
        let offset = log.startOffset(for: start)
        self.position = NIOLockedValueBox(offset)
        self.key = key
        self.handled = handled
        reader = log.addReader(at: offset)
    }

    deinit { log.removeReader(reader) }

    func next() async throws -> BusDelivery? {
        if let handled, let previous = lastDelivered.withLockedValue({ $0 }) { handled(previous) }
        while !Task.isCancelled {
            var offset = position.withLockedValue { $0 }
            switch log.read(at: &offset, reader: reader, orRegister: nil) {
            case .delivery(let delivery):
                position.withLockedValue { $0 = delivery.offset + 1 }
                if let key, delivery.record.key != key { continue }
                lastDelivered.withLockedValue { $0 = delivery.offset }
                return delivery
            case .closed, .cancelled:
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
                if case .waiting = log.read(at: &probe, reader: reader, orRegister: continuation) { return }
                continuation.resume()
            }
        } onCancel: {
            log.wakeWaiters()
        }
    }
}
