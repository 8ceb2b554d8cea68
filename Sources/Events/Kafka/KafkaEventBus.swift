import Crdkafka
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The cluster's event bus: records go to Kafka, binary-coded (`MediaFrameCodec` for frames,
/// `EventCodec` JSON envelopes for events), keyed by stream id. Sluice picks the partition
/// itself (FNV-1a of the key, modulo the topic's partition count), so a reader of one stream
/// knows which partition to read without asking anyone.
///
/// One producer serves every publish; each subscription is a consumer of its own.
public final class KafkaEventBus: EventBus {
    private let configuration: KafkaConfiguration
    private let producer: KafkaProducer
    private let partitionCounts: [Topic: Int]
    private let logger: Logger
    private let source: String
    private let codec = EventCodec()
    /// Guards the consumers made and whether the bus closed: read from any task, changed by subscribe and
    /// shutdown; a lock because `publish` must not suspend.
    private let consumers = NIOLockedValueBox<(closed: Bool, open: [ObjectIdentifier: WeakConsumer])>((false, [:]))
    /// Counts per topic: added to by `publish` and every cursor, read by `statistics()`; locked, as none
    /// of them suspends.
    private let counters = NIOLockedValueBox<[Topic: BusStatistics]>([:])

    /// Where each published source keyframe and segment start went, once the broker has it. One
    /// reader: ingest's `PlaybackStartRecorder`.
    public let acknowledgedStarts: AsyncStream<BusAcknowledgement>
    private let acknowledged: AsyncStream<BusAcknowledgement>.Continuation

    /// Connects and reads the topics' partition counts; every catalog topic must exist.
    /// - Parameter source: the node name written into event envelopes.
    public static func connect(_ configuration: KafkaConfiguration, source: String, logger: Logger) async throws -> KafkaEventBus {
        let admin = try KafkaAdmin(configuration: configuration)
        let counts = try await admin.partitionCounts(Topic.allCases.map(\.name))
        var partitionCounts: [Topic: Int] = [:]
        for topic in Topic.allCases { partitionCounts[topic] = counts[topic.name] }
        return try KafkaEventBus(configuration: configuration, partitionCounts: partitionCounts, source: source, logger: logger)
    }

    private init(configuration: KafkaConfiguration, partitionCounts: [Topic: Int], source: String, logger: Logger) throws {
        self.configuration = configuration
        self.partitionCounts = partitionCounts
        self.source = source
        self.logger = logger
        let (acknowledgedStarts, acknowledged) = BusAcknowledgement.makeStream()
        (self.acknowledgedStarts, self.acknowledged) = (acknowledgedStarts, acknowledged)
        producer = try KafkaProducer(configuration: configuration, logger: logger, onAcknowledged: { marker, _, offset in
            if marker.isKeyframe { acknowledged.yield(.keyframe(stream: marker.key, session: marker.session, offset: offset)) }
            if var start = marker.segmentStart {
                start.offset = offset
                acknowledged.yield(.segmentStart(start))
            }
        })
    }

    /// The partition all records of `key` go to.
    public func partition(of key: String, in topic: Topic) -> Int {
        var hash: UInt32 = 2_166_136_261
        for byte in key.utf8 {
            hash ^= UInt32(byte)
            hash &*= 16_777_619
        }
        return Int(hash % UInt32(partitionCounts[topic] ?? topic.partitions))
    }

    public func publish(_ record: BusRecord, to topic: Topic) throws {
        guard !consumers.withLockedValue({ $0.closed }) else {
            throw EventBusError(.closed, "publish to \(topic.name) after shutdown")
        }
        let started = DispatchTime.now().uptimeNanoseconds
        let partition = partition(of: record.key, in: topic)
        let key = Array(record.key.utf8)
        if case .frame(let frame) = record.value {
            let encoded = MediaFrameCodec.encode(frame)
            let isKeyframe = topic == .mediaSource && frame.kind == .video && frame.isKeyframe && !frame.isSequenceHeader
            let start = SegmentStart(frame, key: record.key, topic: topic, offset: -1)
            let marker = isKeyframe || start != nil
                ? KafkaProducer.Marker(key: record.key, session: frame.sessionID, isKeyframe: isKeyframe, segmentStart: start) : nil
            try encoded.withUnsafeReadableBytes {
                try producer.send(topic: topic.name, partition: partition, key: key, value: $0, marker: marker)
            }
        } else if let envelope = try codec.encode(record.value, source: source) {
            try envelope.withUnsafeBytes { try producer.send(topic: topic.name, partition: partition, key: key, value: $0) }
        }
        let elapsed = Int64(DispatchTime.now().uptimeNanoseconds - started)
        counters.withLockedValue {
            $0[topic, default: BusStatistics()].published += 1
            $0[topic, default: BusStatistics()].publishNanoseconds += elapsed
        }
    }

    public func subscribe(to topic: Topic, from start: SubscriptionStart) -> BusSubscription {
        let partitions = (0..<(partitionCounts[topic] ?? topic.partitions)).map { KafkaPartition(topic: topic.name, partition: $0) }
        // Assigned "latest" on every partition, Tansu delivered nothing at all (seen with 12
        // partitions; one partition works): a whole-topic read from the end starts at the oldest
        // record and passes over the older ones by timestamp.
        let offset = start == .end ? Int64(RD_KAFKA_OFFSET_BEGINNING) : Self.kafkaOffset(start)
        return subscription(topic: topic, group: nil, key: nil, start: start) { consumer in
            try consumer.assign(partitions.map { ($0, offset) })
        }
    }

    public func subscribe(to topic: Topic, key: String, from start: SubscriptionStart) -> BusSubscription {
        let partition = KafkaPartition(topic: topic.name, partition: partition(of: key, in: topic))
        return subscription(topic: topic, group: nil, key: key, start: start) { consumer in
            try consumer.assign([(partition, Self.kafkaOffset(start))])
        }
    }

    public func subscribe(to topic: Topic, group: String) -> BusSubscription {
        subscription(topic: topic, group: group, key: nil, start: .beginning) { consumer in try consumer.subscribe([topic.name]) }
    }

    private static func kafkaOffset(_ start: SubscriptionStart) -> Int64 {
        switch start {
        case .beginning: return Int64(RD_KAFKA_OFFSET_BEGINNING)
        case .end: return Int64(RD_KAFKA_OFFSET_END)
        case .offset(let offset): return offset
        }
    }

    private func subscription(topic: Topic, group: String?, key: String?, start: SubscriptionStart,
                              position: (KafkaConsumer) throws -> Void) -> BusSubscription {
        // Some brokers (Tansu) answer "latest" with the oldest offset; records from before the
        // subscription are then passed over by their timestamps.
        let notBefore = start == .end ? Int64(Date().timeIntervalSince1970 * 1000) : nil
        do {
            let consumer = try KafkaConsumer(configuration: configuration, group: group, logger: logger)
            try position(consumer)
            let closed = consumers.withLockedValue { state in
                if !state.closed { state.open[ObjectIdentifier(consumer)] = WeakConsumer(consumer) }
                return state.closed
            }
            if closed { Task { await consumer.close() } }
            return BusSubscription(cursor: KafkaCursor(bus: self, topic: topic, consumer: consumer, key: key,
                                                       notBefore: notBefore, commits: group != nil))
        } catch {
            return BusSubscription(cursor: FailedCursor(error: error))
        }
    }

    /// Decodes one Kafka record into a delivery, counting it.
    fileprivate func delivery(of message: KafkaMessage, topic: Topic) throws -> BusDelivery {
        let key = String(decoding: message.key, as: UTF8.self)
        let value: BusValue
        switch topic {
        case .mediaSource, .mediaRenditions:
            value = .frame(try MediaFrameCodec.decode(message.value))
        case .streamLifecycle:
            value = .lifecycle(try codec.decodeLifecycle(Data(message.value.readableBytesView)).event)
        case .channels:
            value = .channel(try codec.decodeChannel(Data(message.value.readableBytesView)))
        case .assets:
            value = .asset(try codec.decodeAsset(Data(message.value.readableBytesView)))
        case .webhookDeadLetter:
            value = .webhookDeadLetter(try codec.decodeWebhookDeadLetter(Data(message.value.readableBytesView)))
        case .commands:
            value = .command(try codec.decodeCommand(Data(message.value.readableBytesView)))
        }
        let delay = max(0, Int64(Date().timeIntervalSince1970 * 1000) - message.timestampMilliseconds) * 1_000_000
        counters.withLockedValue {
            $0[topic, default: BusStatistics()].consumed += 1
            $0[topic, default: BusStatistics()].consumeDelayNanoseconds += delay
        }
        return BusDelivery(topic: topic, partition: message.partition, offset: message.offset,
                           record: BusRecord(key: key, value: value),
                           publishedAt: Date(timeIntervalSince1970: Double(message.timestampMilliseconds) / 1000))
    }

    fileprivate func forget(_ consumer: KafkaConsumer) {
        consumers.withLockedValue { _ = $0.open.removeValue(forKey: ObjectIdentifier(consumer)) }
    }

    fileprivate func log(undecodable message: KafkaMessage, _ error: Error) {
        logger.error("Kafka record skipped: it does not decode",
                     metadata: ["topic": "\(message.topic)", "partition": "\(message.partition)",
                                "offset": "\(message.offset)", "error": "\(error)"])
    }

    /// Flushes the producer, then closes every consumer (groups commit what was handled).
    public func shutdown() async {
        let open = consumers.withLockedValue { state in
            state.closed = true
            defer { state.open.removeAll() }
            return state.open.values.compactMap(\.consumer)
        }
        await producer.close()
        acknowledged.finish()
        for consumer in open { await consumer.close() }
    }

    /// Publish counts with the time spent handing records to the producer (summed; the time to
    /// the broker's acknowledgement is `acknowledgements`), consume counts with the time from a
    /// record's timestamp to its delivery; no lag (Kafka's own tools say).
    public func statistics() -> [Topic: BusStatistics] {
        counters.withLockedValue { $0 }
    }

    public var unavailability: String? { producer.outage }

    /// Records handed to the producer and not yet acknowledged by the broker.
    public var unacknowledged: Int { producer.queued }

    /// The producer's acknowledgements: count and summed time from publish to broker ack.
    public var acknowledgements: KafkaProducer.Acknowledgements { producer.acknowledgements }
}

private struct WeakConsumer {
    weak var consumer: KafkaConsumer?
    init(_ consumer: KafkaConsumer) { self.consumer = consumer }
}

/// Reads one subscription's consumer. A group member's record is marked handled when the
/// reader asks for the next one.
private final class KafkaCursor: BusCursor {
    private let bus: KafkaEventBus
    private let topic: Topic
    private let consumer: KafkaConsumer
    private let key: String?
    /// Records stamped before this (milliseconds since 1970) are passed over; nil: none are.
    private let notBefore: Int64?
    private let commits: Bool
    /// The record delivered last, marked handled on the next read; one task reads the cursor, so the lock
    /// only makes it `Sendable`.
    private let previous = NIOLockedValueBox<KafkaMessage?>(nil)
    let revokedPartitions: AsyncStream<[Int]>

    init(bus: KafkaEventBus, topic: Topic, consumer: KafkaConsumer, key: String?, notBefore: Int64?, commits: Bool) {
        self.bus = bus
        self.topic = topic
        self.consumer = consumer
        self.key = key
        self.notBefore = notBefore
        self.commits = commits
        let rebalances = consumer.rebalances
        revokedPartitions = AsyncStream { continuation in
            let relay = Task {
                for await change in rebalances { if case .revoked(let gone) = change { continuation.yield(gone.map(\.partition)) } }
                continuation.finish()
            }
            continuation.onTermination = { _ in relay.cancel() }
        }
    }

    deinit { bus.forget(consumer) }

    /// The last record delivered stays unhandled (its reader never asked for the next), so the
    /// group's next member gets it again.
    func close() async { await consumer.close() }

    func next() async throws -> BusDelivery? {
        while true {
            if commits, let handled = previous.withLockedValue({ $0 }) { consumer.markHandled(handled) }
            guard let message = await consumer.next() else { return nil }
            previous.withLockedValue { $0 = message }
            if let key, !message.key.elementsEqual(key.utf8) { continue }
            if let notBefore, message.timestampMilliseconds < notBefore { continue }
            do {
                return try bus.delivery(of: message, topic: topic)
            } catch {
                bus.log(undecodable: message, error)
            }
        }
    }
}

/// A subscription whose consumer could not be made: the first `next()` throws why.
private struct FailedCursor: BusCursor {
    let error: Error
    func next() async throws -> BusDelivery? { throw error }
}
