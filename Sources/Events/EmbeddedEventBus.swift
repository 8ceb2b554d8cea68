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
    private let journal: EventJournal?

    /// - Parameter journal: where control events are kept on disk for `sluice replay`; nil:
    ///   nowhere (tests, benchmarks).
    public init(retention: Retention = Retention(), journal: EventJournal? = nil) {
        var logs: [Topic: PartitionLog] = [:]
        for topic in Topic.allCases {
            logs[topic] = PartitionLog(topic: topic, retention: retention)
        }
        self.logs = logs
        self.journal = journal
    }

    public func publish(_ record: BusRecord, to topic: Topic) throws {
        try logs[topic]!.append(record)
        journal?.append(record, to: topic)
    }

    public func subscribe(to topic: Topic, from start: SubscriptionStart) -> BusSubscription {
        BusSubscription(cursor: EmbeddedCursor(log: logs[topic]!, start: start))
    }

    public func shutdown() async {
        for log in logs.values { log.close() }
        journal?.close()
    }

    public func statistics() -> [Topic: BusStatistics] {
        logs.mapValues(\.statistics)
    }

    /// Records a consumer of `topic` skipped because it fell behind retention.
    public func skippedRecords(_ topic: Topic) -> Int64 { logs[topic]!.skipped }
}
