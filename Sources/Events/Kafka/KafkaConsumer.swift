import Crdkafka
import Foundation
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
/// partitions from chosen offsets (`assign`). A thread of its own polls librdkafka and hands
/// records to `next()` through a bounded buffer, so a slow reader slows the fetching instead of
/// growing memory. Rebalances arrive on `rebalances`.
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
        core.start()
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
    public func next() async -> KafkaMessage? { await core.buffer.take() }

    /// Marks `message` handled: the group's committed offset moves past it.
    public func markHandled(_ message: KafkaMessage) {
        let list = rd_kafka_topic_partition_list_new(1)!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        rd_kafka_topic_partition_list_add(list, message.topic, Int32(message.partition))!.pointee.offset = message.offset + 1
        // A partition revoked meanwhile refuses the store: its next owner handles the record again.
        _ = core.handle.use { rd_kafka_offsets_store($0, list) }
    }

    /// Commits what was marked handled now, waiting for the broker's answer.
    public func commit() async throws {
        let handle = core.handle
        let result: rd_kafka_resp_err_t = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: handle.use { rd_kafka_commit($0, nil, 0) } ?? RD_KAFKA_RESP_ERR__DESTROY)
            }
        }
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
        let result: rd_kafka_resp_err_t = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: handle.use { rd_kafka_commit($0, owned.pointer, 0) } ?? RD_KAFKA_RESP_ERR__DESTROY)
            }
        }
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

/// The librdkafka handle and the thread that polls it. The thread owns the handle's end: it
/// closes the consumer and destroys the handle when stopped.
private final class ConsumerCore: @unchecked Sendable {
    // @unchecked: `handle` is thread-safe (librdkafka); the rest is immutable or locked.
    let handle: KafkaHandle
    let buffer: MessageBuffer
    private let logger: Logger
    /// Partitions assigned whose first record is not read yet (its offset and age are logged:
    /// where a member that took them over starts, and how far back).
    /// Only the poll thread touches it (rebalances run inside its poll); locked so the rebalance sink can share it.
    private let awaitingFirst: NIOLockedValueBox<Set<KafkaPartition>>
    /// Keeps the poll thread going; cleared by `stop` and `close` from any task.
    private let running = ManagedAtomicFlag()
    /// Whether the poll thread is done, and the `close` callers waiting for it: set by that thread,
    /// which cannot await, so a lock.
    private let finished = NIOLockedValueBox<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
    let rebalances: AsyncStream<KafkaRebalance>.Continuation

    init(properties: [String: String], logger: Logger, capacity: Int,
         rebalances: AsyncStream<KafkaRebalance>.Continuation) throws {
        let settings = try KafkaConfiguration.make(properties)
        buffer = MessageBuffer(capacity: capacity)
        self.logger = logger
        self.rebalances = rebalances
        awaitingFirst = NIOLockedValueBox([])
        var message = [CChar](repeating: 0, count: 512)
        // This object (and so the sink) outlives the handle: the poll thread holds it until destroy.
        rebalanceSink = RebalanceSink(rebalances, logger, buffer, awaitingFirst)
        rd_kafka_conf_set_opaque(settings, Unmanaged.passUnretained(rebalanceSink).toOpaque())
        rd_kafka_conf_set_rebalance_cb(settings) { handle, error, partitions, opaque in
            guard let handle, let opaque else { return }
            Unmanaged<RebalanceSink>.fromOpaque(opaque).takeUnretainedValue().rebalance(handle, error, partitions)
        }
        guard let handle = rd_kafka_new(RD_KAFKA_CONSUMER, settings, &message, message.count) else {
            rd_kafka_conf_destroy(settings)
            throw EventBusError(.unavailable, "Kafka consumer: \(String(errorBuffer: message))")
        }
        self.handle = KafkaHandle(handle)
        rd_kafka_poll_set_consumer(handle)
    }

    private let rebalanceSink: RebalanceSink

    func start() {
        running.set(true)
        let thread = Thread { [self] in run() }
        thread.name = "sluice-kafka-consumer"
        thread.start()
    }

    func stop() { running.set(false) }

    func close() async {
        running.set(false)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = finished.withLockedValue { state in
                if !state.done { state.waiters.append(continuation) }
                return state.done
            }
            if done { continuation.resume() }
        }
    }

    func discardBuffered(_ partition: KafkaPartition) {
        buffer.removeAll { $0.topic == partition.topic && $0.partition == partition.partition }
    }

    private func run() {
        while running.value {
            guard let message = rd_kafka_consumer_poll(handle.pointer.raw, 100) else { continue }
            defer { rd_kafka_message_destroy(message) }
            let record = message.pointee
            guard record.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                // Transport errors are retried by librdkafka itself; they are worth a line.
                logger.warning("Kafka consumer: \(String(cString: rd_kafka_err2str(record.err)))")
                continue
            }
            var value = ByteBufferAllocator().buffer(capacity: record.len)
            if let payload = record.payload { value.writeBytes(UnsafeRawBufferPointer(start: payload, count: record.len)) }
            let key = record.key.map { Array(UnsafeRawBufferPointer(start: $0, count: record.key_len)) } ?? []
            var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
            let timestamp = rd_kafka_message_timestamp(message, &timestampType)
            let delivered = KafkaMessage(topic: String(cString: rd_kafka_topic_name(record.rkt)),
                                         partition: Int(record.partition), offset: record.offset, key: key,
                                         value: value, timestampMilliseconds: timestamp)
            logIfFirst(delivered)
            // Waits while the reader is behind; gives up when the consumer stops.
            while running.value, !buffer.put(delivered, waitingAtMost: .milliseconds(100)) {}
        }
        handle.destroy { rd_kafka_consumer_close($0) }
        rebalances.finish()
        buffer.finish()
        let waiters = finished.withLockedValue { state in
            state.done = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private func logIfFirst(_ message: KafkaMessage) {
        let partition = KafkaPartition(topic: message.topic, partition: message.partition)
        guard awaitingFirst.withLockedValue({ $0.isEmpty ? false : $0.remove(partition) != nil }) else { return }
        let age = Int64(Date().timeIntervalSince1970 * 1000) - message.timestampMilliseconds
        logger.info("Kafka partition's first record since its assignment",
                    metadata: ["partition": "\(partition)", "offset": "\(message.offset)", "age_ms": "\(age)"])
    }
}

/// Serves librdkafka's rebalance callback (on the poll thread): eager assignment, reported.
private final class RebalanceSink: Sendable {
    private let continuation: AsyncStream<KafkaRebalance>.Continuation
    private let logger: Logger
    private let buffer: MessageBuffer
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
private final class KafkaPartitionList: @unchecked Sendable {
    // @unchecked: used by one thread at a time (the committing one, then its owner).
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    init(_ pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) { self.pointer = pointer }
    deinit { rd_kafka_topic_partition_list_destroy(pointer) }
}

/// A bounded hand-over from the poll thread (which blocks while it is full) to async readers.
final class MessageBuffer: Sendable {
    private struct State {
        var items = CircularBuffer<KafkaMessage>()
        var waiter: CheckedContinuation<KafkaMessage?, Never>?
        var finished = false
    }

    private let capacity: Int
    /// Guards the items, the waiting reader and the end: the poll thread puts (a plain thread, it cannot
    /// await), tasks take.
    private let state = NIOLockedValueBox(State())
    /// Signalled by `take` whenever it frees a place.
    private let space = DispatchSemaphore(value: 0)

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// False when the buffer stayed full for `timeout`.
    func put(_ message: KafkaMessage, waitingAtMost timeout: TimeAmount) -> Bool {
        let deadline = NIODeadline.now() + timeout
        while true {
            let (accepted, waiter): (Bool, CheckedContinuation<KafkaMessage?, Never>?) = state.withLockedValue { state in
                if let waiter = state.waiter {
                    state.waiter = nil
                    return (true, waiter)
                }
                guard state.items.count < capacity else { return (false, nil) }
                state.items.append(message)
                return (true, nil)
            }
            if let waiter { waiter.resume(returning: message) }
            if accepted { return true }
            guard NIODeadline.now() < deadline else { return false }
            // Woken by `take` freeing a place, or by the timeout.
            _ = space.wait(timeout: .now() + .milliseconds(10))
        }
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
                if let ready {
                    continuation.resume(returning: ready)
                    space.signal()
                }
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
