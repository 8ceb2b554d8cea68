import Foundation
import NIOCore

/// What travels on the bus: typed values. The Kafka bus encodes them (`MediaFrameCodec`,
/// `EventCodec`); the embedded bus hands them over as they are, so media payloads are shared,
/// not copied.
public enum BusValue: Sendable, Hashable {
    case frame(MediaFrame)
    case lifecycle(LifecycleEvent)
    case channel(ChannelChange)
    case asset(AssetCreated)
    case webhookDeadLetter(WebhookDeadLetter)
    case command(ClusterCommand)
}

/// One record: a key (the stream id for every topic so far) and a value.
public struct BusRecord: Sendable, Hashable {
    public var key: String
    public var value: BusValue

    public init(key: String, value: BusValue) {
        self.key = key
        self.value = value
    }
}

/// A record as a consumer receives it, with its position in the topic.
public struct BusDelivery: Sendable {
    public var topic: Topic
    public var partition: Int
    public var offset: Int64
    public var record: BusRecord
    /// When the record was published (Kafka: its timestamp, the producer's clock).
    public var publishedAt: Date
}

/// How a worker reads its topic.
public enum WorkerFeed: Sendable, Hashable {
    /// Every record published from now on (one machine: the only member).
    case fromNow
    /// As a member of consumer group `group` (a cluster): the group's share of the records,
    /// resuming after what the group handled. Records published more than `maxAge` ago are
    /// passed over (live media nobody wants late, after a restart); nil: none are.
    case group(String, maxAge: Duration?)
}

extension EventBus {
    /// A worker's subscription to `topic`, as `feed` says.
    public func subscribe(to topic: Topic, as feed: WorkerFeed) -> BusSubscription {
        switch feed {
        case .fromNow:
            return subscribe(to: topic, from: .end)
        case .group(let group, nil):
            return subscribe(to: topic, group: Self.groupID(group, topic))
        case .group(let group, let maxAge?):
            return BusSubscription(cursor: RecentCursor(inner: subscribe(to: topic, group: Self.groupID(group, topic)).cursor,
                                                        maxAge: maxAge))
        }
    }
}

extension EventBus {
    /// Both media topics (sources and renditions) from now on: what a node that handles every
    /// stream reads.
    public func subscribeToAllMedia() -> [BusSubscription] {
        [subscribe(to: .mediaSource, from: .end), subscribe(to: .mediaRenditions, from: .end)]
    }

    /// A worker's consumer group on one topic: `{group}.{topic}`. One group per topic keeps a
    /// worker that reads two topics from making each topic's members wait for the other's.
    public static func groupID(_ group: String, _ topic: Topic) -> String { "\(group).\(topic.name)" }
}

/// Passes over deliveries published longer than `maxAge` ago.
private struct RecentCursor: BusCursor {
    let inner: any BusCursor
    let maxAge: Duration

    func next() async throws -> BusDelivery? {
        let seconds = Double(maxAge.components.seconds) + Double(maxAge.components.attoseconds) / 1e18
        while let delivery = try await inner.next() {
            if Date().timeIntervalSince(delivery.publishedAt) <= seconds { return delivery }
        }
        return nil
    }

    func close() async { await inner.close() }

    var revokedPartitions: AsyncStream<[Int]> { inner.revokedPartitions }
}

/// Where a new subscription starts reading.
public enum SubscriptionStart: Sendable, Hashable {
    /// The oldest record still retained.
    case beginning
    /// Only records published after the subscription was made.
    case end
    /// A position returned in an earlier delivery (clamped to what is retained).
    case offset(Int64)
}

/// The event log that connects ingest, workers and playback. Implementations: the embedded
/// in-process log (`EmbeddedEventBus`) and Kafka.
///
/// Records with the same key keep their order for every consumer.
public protocol EventBus: Sendable {
    /// Appends a record. Never blocks and never waits for consumers.
    /// - Throws: `EventBusError` `.closed` after `shutdown()`, `.queueFull` when the producer
    ///   queue is full (Kafka).
    func publish(_ record: BusRecord, to topic: Topic) throws

    /// A subscription that reads `topic` from `start`, in order, until cancelled or the bus closes.
    /// Kafka reads every partition; `.offset` applies to each.
    func subscribe(to topic: Topic, from start: SubscriptionStart) -> BusSubscription

    /// Only the records of `key` (one stream). Kafka reads just the key's partition, and
    /// `.offset` is a position in it as an earlier delivery of the key reported.
    func subscribe(to topic: Topic, key: String, from start: SubscriptionStart) -> BusSubscription

    /// A member of consumer group `group`: the group's members share the topic's records
    /// (Kafka spreads partitions over them; all records of a key go to one member), and the group
    /// resumes after the last record a member handled — a record counts as handled when its
    /// member asks for the next one (at least once). A new group starts at the oldest record.
    func subscribe(to topic: Topic, group: String) -> BusSubscription

    /// Flushes what is queued and ends every subscription.
    func shutdown() async

    /// Publish and consume counts, latencies and consumer lag per topic.
    func statistics() -> [Topic: BusStatistics]

    /// Why records cannot reach the bus now (Kafka: no broker answers); nil while they can.
    /// Ingest refuses new publishers meanwhile rather than queue their media for nobody.
    var unavailability: String? { get }
}

/// The reading side of one subscription. Implemented by each bus.
public protocol BusCursor: Sendable {
    /// The next delivery, waiting for one to be published; `nil` when the bus has closed or the
    /// task was cancelled.
    func next() async throws -> BusDelivery?

    /// Ends the subscription now, waiting until it is done (a Kafka group member leaves its group
    /// and commits what was handled). Dropping the subscription ends it too, without waiting.
    func close() async

    /// The partitions a group member stopped reading, each time its group takes some away
    /// (another member reads them from then on); records of them already fetched are not
    /// delivered after it. Other subscriptions never see one.
    var revokedPartitions: AsyncStream<[Int]> { get }
}

extension BusCursor {
    public func close() async {}

    public var revokedPartitions: AsyncStream<[Int]> { AsyncStream { $0.finish() } }
}

/// An `AsyncSequence` of deliveries from one topic.
public struct BusSubscription: AsyncSequence, Sendable {
    public typealias Element = BusDelivery
    let cursor: any BusCursor

    public init(cursor: any BusCursor) {
        self.cursor = cursor
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let cursor: any BusCursor
        public mutating func next() async throws -> BusDelivery? { try await cursor.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(cursor: cursor) }

    /// See `BusCursor.close()`.
    public func close() async { await cursor.close() }

    /// See `BusCursor.revokedPartitions`.
    public var revokedPartitions: AsyncStream<[Int]> { cursor.revokedPartitions }
}
