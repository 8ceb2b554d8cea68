import Crdkafka
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// One record as a Kafka consumer received it.
public struct KafkaMessage: Sendable {
    public var topic: String
    public var partition: Int
    public var offset: Int64
    public var key: [UInt8]
    public var value: ByteBuffer
    /// The record's timestamp (the producer's create time), milliseconds since 1970.
    public var timestampMilliseconds: Int64
}

/// A change of the partitions a group member reads.
public enum KafkaRebalance: Sendable, Hashable {
    case assigned([KafkaPartition])
    case revoked([KafkaPartition])
}

public struct KafkaPartition: Sendable, Hashable, CustomStringConvertible {
    public var topic: String
    public var partition: Int

    public init(topic: String, partition: Int) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)[\(partition)]" }
}

/// A Kafka consumer: either a member of a consumer group (`subscribe`) or a reader of chosen
/// partitions from chosen offsets (`assign`). Its owner thread (`kafka-consumer`) polls
/// librdkafka between its jobs (commits, the close) and hands records to `next()` through a
/// bounded buffer, so a slow reader slows the fetching instead of growing memory. Rebalances
/// arrive on `rebalances`.
///
/// After handling a record, call `markHandled`: its offset is committed in the background (and
/// when the consumer closes), so a group resumes after the last handled record (at least once).
public final class KafkaConsumer: Sendable {
    private let core: ConsumerCore
    /// Partition assignments and revocations of a group member, in order.
    public let rebalances: AsyncStream<KafkaRebalance>

    /// For `assign`: the oldest record each partition still has.
    public static let oldest = Int64(RD_KAFKA_OFFSET_BEGINNING)

    public init(configuration: KafkaConfiguration, group: String?, logger: Logger, bufferedMessages: Int = 512) throws {
        let (rebalances, continuation) = AsyncStream<KafkaRebalance>.makeStream()
        self.rebalances = rebalances
        core = try ConsumerCore(properties: configuration.consumerProperties(group: group), logger: logger,
                                capacity: bufferedMessages, rebalances: continuation)
    }

    deinit { core.stop() }

    /// Joins the group (set at init) for `topics`; partitions are assigned by the broker.
    public func subscribe(_ topics: [String]) throws {
        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in topics { rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA) }
        let result = core.handle.use { rd_kafka_subscribe($0, list) } ?? RD_KAFKA_RESP_ERR__DESTROY
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw EventBusError.kafka(result, "subscribe to \(topics)") }
    }

    /// Reads exactly these partitions from these offsets (librdkafka's logical offsets too:
    /// `RD_KAFKA_OFFSET_BEGINNING`, `RD_KAFKA_OFFSET_END`).
    public func assign(_ positions: [(partition: KafkaPartition, offset: Int64)]) throws {
        let list = rd_kafka_topic_partition_list_new(Int32(positions.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for position in positions {
            let element = rd_kafka_topic_partition_list_add(list, position.partition.topic, Int32(position.partition.partition))!
            element.pointee.offset = position.offset
        }
        let result = core.handle.use { rd_kafka_assign($0, list) } ?? RD_KAFKA_RESP_ERR__DESTROY
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw EventBusError.kafka(result, "assign") }
    }

    /// Moves an assigned partition to `offset`; the next records come from there.
    public func seek(_ partition: KafkaPartition, to offset: Int64) throws {
        let list = rd_kafka_topic_partition_list_new(1)!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        rd_kafka_topic_partition_list_add(list, partition.topic, Int32(partition.partition))!.pointee.offset = offset
        core.discardBuffered(partition)
        guard let seekError = core.handle.use({ rd_kafka_seek_partitions($0, list, 5000) }) else {
            throw EventBusError(.closed, "seek \(partition): the consumer is closed")
        }
        if let error = seekError {
            defer { rd_kafka_error_destroy(error) }
            throw EventBusError(.unavailable, "seek \(partition): \(String(cString: rd_kafka_error_string(error)))")
        }
        let result = list.pointee.elems[0].err
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw EventBusError.kafka(result, "seek \(partition)") }
    }

    /// The next record; `nil` once the consumer is closed or the task is cancelled.
    public func next() async -> KafkaMessage? { await core.next() }

    /// Marks `message` handled: the group's committed offset moves past it.
    public func markHandled(_ message: KafkaMessage) {
        let list = rd_kafka_topic_partition_list_new(1)!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        rd_kafka_topic_partition_list_add(list, message.topic, Int32(message.partition))!.pointee.offset = message.offset + 1
        // A partition revoked meanwhile refuses the store: its next owner handles the record again.
        _ = core.handle.use { rd_kafka_offsets_store($0, list) }
    }

    /// Commits what was marked handled now, waiting for the broker's answer (on the consumer's
    /// thread, between polls).
    public func commit() async throws {
        let handle = core.handle
        let result = await core.onThread { handle.use { rd_kafka_commit($0, nil, 0) } }
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR || result == RD_KAFKA_RESP_ERR__NO_OFFSET else {
            throw EventBusError.kafka(result, "commit")
        }
    }

    /// Commits these positions for the consumer's group now (an operator's rewind: the group
    /// must have no members meanwhile, or they overwrite it with their own).
    public func commit(_ positions: [(partition: KafkaPartition, offset: Int64)]) async throws {
        let handle = core.handle
        let list = rd_kafka_topic_partition_list_new(Int32(positions.count))!
        for position in positions {
            rd_kafka_topic_partition_list_add(list, position.partition.topic, Int32(position.partition.partition))!.pointee.offset = position.offset
        }
        let owned = KafkaPartitionList(list)
        let result = await core.onThread { handle.use { rd_kafka_commit($0, owned.pointer, 0) } }
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw EventBusError.kafka(result, "commit") }
        try withExtendedLifetime(owned) {
            for index in 0..<Int(list.pointee.cnt) where list.pointee.elems[index].err != RD_KAFKA_RESP_ERR_NO_ERROR {
                let element = list.pointee.elems[index]
                throw EventBusError.kafka(element.err, "commit \(String(cString: element.topic))[\(element.partition)]")
            }
        }
    }

    /// Leaves the group (committing what was handled) and stops fetching; waits until done.
    public func close() async { await core.close() }
}
