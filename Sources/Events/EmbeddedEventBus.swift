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
    /// Each consumer group's next offset per topic (in memory: groups start over with the process).
    /// Locked: `subscribe` reads it, each group cursor's synchronous commit writes it from its reading task.
    private let groupPositions = NIOLockedValueBox<[GroupPosition: Int64]>([:])

    struct GroupPosition: Hashable {
        var group: String
        var topic: Topic
    }

    /// Where each published source keyframe and segment start went, as it is appended (the Kafka
    /// bus tells them on the broker's acknowledgement). One reader: ingest's `PlaybackStartRecorder`.
    public let acknowledgedStarts: AsyncStream<BusAcknowledgement>
    private let acknowledged: AsyncStream<BusAcknowledgement>.Continuation

    /// - Parameter journal: where control events are kept on disk for `sluice replay`; nil:
    ///   nowhere (tests, benchmarks).
    public init(retention: Retention = Retention(), journal: EventJournal? = nil) {
        (acknowledgedStarts, acknowledged) = BusAcknowledgement.makeStream()
        var logs: [Topic: PartitionLog] = [:]
        for topic in Topic.allCases {
            logs[topic] = PartitionLog(topic: topic, retention: retention)
        }
        self.logs = logs
        self.journal = journal
    }

    public func publish(_ record: BusRecord, to topic: Topic) throws {
        let offset = try logs[topic]!.append(record)
        journal?.append(record, to: topic)
        guard case .frame(let frame) = record.value else { return }
        if topic == .mediaSource, frame.kind == .video, frame.isKeyframe, !frame.isSequenceHeader {
            acknowledged.yield(.keyframe(stream: record.key, session: frame.sessionID, offset: offset))
        }
        if let start = SegmentStart(frame, key: record.key, topic: topic, offset: offset) {
            acknowledged.yield(.segmentStart(start))
        }
    }

    public func subscribe(to topic: Topic, from start: SubscriptionStart) -> BusSubscription {
        BusSubscription(cursor: EmbeddedCursor(log: logs[topic]!, start: start))
    }

    public func subscribe(to topic: Topic, key: String, from start: SubscriptionStart) -> BusSubscription {
        BusSubscription(cursor: EmbeddedCursor(log: logs[topic]!, start: start, key: key))
    }

    /// One process has one member per group: a second member of the same group reads from the
    /// same committed position (there is nothing to spread the records over).
    public func subscribe(to topic: Topic, group: String) -> BusSubscription {
        let position = GroupPosition(group: group, topic: topic)
        let start = groupPositions.withLockedValue { $0[position] }.map(SubscriptionStart.offset) ?? .beginning
        let positions = groupPositions
        return BusSubscription(cursor: EmbeddedCursor(log: logs[topic]!, start: start) { handled in
            positions.withLockedValue { $0[position] = handled + 1 }
        })
    }

    public func shutdown() async {
        for log in logs.values { log.close() }
        journal?.close()
        acknowledged.finish()
    }

    public func statistics() -> [Topic: BusStatistics] {
        logs.mapValues(\.statistics)
    }

    /// The embedded bus lives in the process: it is there as long as its publishers are.
    public var unavailability: String? { nil }

    /// Records a consumer of `topic` skipped because it fell behind retention.
    public func skippedRecords(_ topic: Topic) -> Int64 { logs[topic]!.skipped }
}
