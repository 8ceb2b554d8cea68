import Crdkafka
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// A consumer's librdkafka handle and the owner thread that polls it, commits through it and
/// closes it. Other calls (`subscribe`, `assign`, `seek`, offset stores) are thread-safe and go
/// through `handle.use` from the caller's thread.
final class ConsumerCore: Sendable {
    let handle: KafkaHandle
    let buffer: MessageBuffer
    private let owner: OwnerThread
    private let rebalances: AsyncStream<KafkaRebalance>.Continuation
    /// Reached through librdkafka's opaque pointer from the rebalance callback; this object (and
    /// so the sink) outlives the handle, which the close job destroys first.
    private let rebalanceSink: RebalanceSink

    init(properties: [String: String], logger: Logger, capacity: Int,
         rebalances: AsyncStream<KafkaRebalance>.Continuation) throws {
        let settings = try KafkaConfiguration.make(properties)
        buffer = MessageBuffer(capacity: capacity)
        self.rebalances = rebalances
        // Shared by the poll and the rebalance sink; both run on the consumer's thread, locked so both may hold it.
        let awaitingFirst = NIOLockedValueBox<Set<KafkaPartition>>([])
        rebalanceSink = RebalanceSink(rebalances, logger, buffer, awaitingFirst)
        rd_kafka_conf_set_opaque(settings, Unmanaged.passUnretained(rebalanceSink).toOpaque())
        rd_kafka_conf_set_rebalance_cb(settings) { handle, error, partitions, opaque in
            guard let handle, let opaque else { return }
            Unmanaged<RebalanceSink>.fromOpaque(opaque).takeUnretainedValue().rebalance(handle, error, partitions)
        }
        var message = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(RD_KAFKA_CONSUMER, settings, &message, message.count) else {
            rd_kafka_conf_destroy(settings)
            throw EventBusError(.unavailable, "Kafka consumer: \(String(errorBuffer: message))")
        }
        self.handle = KafkaHandle(handle)
        rd_kafka_poll_set_consumer(handle)
        let poll = ConsumerPoll(handle: self.handle, buffer: buffer, logger: logger, awaitingFirst: awaitingFirst)
        owner = OwnerThread(name: "kafka-consumer", idle: { poll.step() })
    }

    /// The next record; a place freed in the buffer wakes a poll that waits for one.
    func next() async -> KafkaMessage? {
        let message = await buffer.take()
        owner.wake()
        return message
    }

    /// Runs a blocking call on the consumer's thread; `__DESTROY` when the handle is gone.
    func onThread(_ call: @escaping @Sendable () -> rd_kafka_resp_err_t?) async -> rd_kafka_resp_err_t {
        ((try? await owner.run(call)) ?? nil) ?? RD_KAFKA_RESP_ERR__DESTROY
    }

    /// Leaves the group and destroys the handle on the consumer's thread, without waiting.
    func stop() {
        let (handle, rebalances, buffer) = (handle, rebalances, buffer)
        owner.submit {
            // Revoking the partitions here commits what was handled and empties the buffer of them.
            handle.destroy { rd_kafka_consumer_close($0) }
            rebalances.finish()
            buffer.finish()
        }
        owner.stop()
    }

    /// `stop()`, waiting until it is done.
    func close() async {
        stop()
        await owner.join()
    }

    func discardBuffered(_ partition: KafkaPartition) {
        buffer.removeAll { $0.topic == partition.topic && $0.partition == partition.partition }
    }
}

/// The consumer thread's idle step: one short poll, its record into the buffer. A record that
/// finds the buffer full is held, and the step waits (without polling) until a reader makes room.
private final class ConsumerPoll: @unchecked Sendable {
    // @unchecked: `held` is only touched by `step`, which only the owner thread runs.
    private let handle: KafkaHandle
    private let buffer: MessageBuffer
    private let logger: Logger
    /// Partitions assigned whose first record is not read yet (its offset and age are logged:
    /// where a member that took them over starts, and how far back).
    // Shared with the rebalance sink, which runs inside this thread's poll; locked so both can hold it.
    private let awaitingFirst: NIOLockedValueBox<Set<KafkaPartition>>
    private var held: KafkaMessage?
    /// Short, so a commit or close queued meanwhile waits at most this long for its turn.
    static let pollMilliseconds: Int32 = 50

    init(handle: KafkaHandle, buffer: MessageBuffer, logger: Logger, awaitingFirst: NIOLockedValueBox<Set<KafkaPartition>>) {
        self.handle = handle
        self.buffer = buffer
        self.logger = logger
        self.awaitingFirst = awaitingFirst
    }

    func step() -> OwnerThread.IdleStep {
        if let record = held {
            guard buffer.offer(record) else { return .waitForWork }
            held = nil
        }
        guard let polled = handle.use({ rd_kafka_consumer_poll($0, Self.pollMilliseconds) }), let message = polled else {
            return .again
        }
        defer { rd_kafka_message_destroy(message) }
        guard message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            // Transport errors are retried by librdkafka itself; they are worth a line.
            logger.warning("Kafka consumer: \(String(cString: rd_kafka_err2str(message.pointee.err)))")
            return .again
        }
        let record = Self.record(of: message)
        logIfFirst(record)
        guard buffer.offer(record) else {
            held = record
            return .waitForWork
        }
        return .again
    }

    private static func record(of message: UnsafeMutablePointer<rd_kafka_message_t>) -> KafkaMessage {
        let record = message.pointee
        var value = ByteBufferAllocator().buffer(capacity: record.len)
        if let payload = record.payload { value.writeBytes(UnsafeRawBufferPointer(start: payload, count: record.len)) }
        let key = record.key.map { Array(UnsafeRawBufferPointer(start: $0, count: record.key_len)) } ?? []
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        return KafkaMessage(topic: String(cString: rd_kafka_topic_name(record.rkt)),
                            partition: Int(record.partition), offset: record.offset, key: key,
                            value: value, timestampMilliseconds: timestamp)
    }

    private func logIfFirst(_ message: KafkaMessage) {
        let partition = KafkaPartition(topic: message.topic, partition: message.partition)
        guard awaitingFirst.withLockedValue({ $0.isEmpty ? false : $0.remove(partition) != nil }) else { return }
        let age = Int64(Date().timeIntervalSince1970 * 1000) - message.timestampMilliseconds
        logger.info("Kafka partition's first record since its assignment",
                    metadata: ["partition": "\(partition)", "offset": "\(message.offset)", "age_ms": "\(age)"])
    }
}

/// Serves librdkafka's rebalance callback (on the consumer's thread, inside its poll or close): eager assignment, reported.
private final class RebalanceSink: Sendable {
    private let continuation: AsyncStream<KafkaRebalance>.Continuation
    private let logger: Logger
    private let buffer: MessageBuffer
    // The poll's set of partitions awaiting their first record (see `ConsumerPoll`); locked there.
    private let awaitingFirst: NIOLockedValueBox<Set<KafkaPartition>>

    init(_ continuation: AsyncStream<KafkaRebalance>.Continuation, _ logger: Logger, _ buffer: MessageBuffer,
         _ awaitingFirst: NIOLockedValueBox<Set<KafkaPartition>>) {
        self.continuation = continuation
        self.logger = logger
        self.buffer = buffer
        self.awaitingFirst = awaitingFirst
    }

    func rebalance(_ handle: OpaquePointer, _ error: rd_kafka_resp_err_t,
                   _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) {
        let list = (0..<Int(partitions?.pointee.cnt ?? 0)).map { index in
            let element = partitions!.pointee.elems[index]
            return KafkaPartition(topic: String(cString: element.topic), partition: Int(element.partition))
        }
        switch error {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            rd_kafka_assign(handle, partitions)
            awaitingFirst.withLockedValue { $0 = Set(list) }
            logger.info("Kafka partitions assigned", metadata: ["partitions": "\(list)"])
            continuation.yield(.assigned(list))
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            // What was fetched of them is the next owner's now: not delivered here after this.
            buffer.removeAll { message in list.contains { $0.topic == message.topic && $0.partition == message.partition } }
            awaitingFirst.withLockedValue { $0.subtract(list) }
            continuation.yield(.revoked(list))
            logger.info("Kafka partitions revoked", metadata: ["partitions": "\(list)"])
            rd_kafka_assign(handle, nil)
        default:
            logger.warning("Kafka rebalance failed: \(String(cString: rd_kafka_err2str(error)))")
            rd_kafka_assign(handle, nil)
        }
    }
}

/// A partition list handed to another thread, destroyed with this box.
final class KafkaPartitionList: @unchecked Sendable {
    // @unchecked: used by one thread at a time (the consumer's thread commits it, then the caller reads it).
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    init(_ pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) { self.pointer = pointer }
    deinit { rd_kafka_topic_partition_list_destroy(pointer) }
}
