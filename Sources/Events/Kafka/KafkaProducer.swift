import Crdkafka
import Foundation
import Logging
import NIOConcurrencyHelpers

/// An idempotent Kafka producer. `send` queues a record and returns at once; the producer's owner
/// thread (`kafka-producer`) serves delivery reports between its jobs, and a record the
/// broker did not take is reported to `onDeliveryFailure` (and logged). `close()` flushes what is
/// queued, on that same thread.
public final class KafkaProducer: Sendable {
    /// What the broker said of one record.
    public struct DeliveryFailure: Error, Sendable, CustomStringConvertible {
        public var topic: String
        public var partition: Int
        public var error: String
        public var description: String { "Kafka did not take a record for \(topic)[\(partition)]: \(error)" }
    }

    /// Delivered records and the time from `send` to the broker's acknowledgement.
    public struct Acknowledgements: Sendable {
        public var delivered: Int64 = 0
        public var failed: Int64 = 0
        public var nanoseconds: Int64 = 0
    }

    private let handle: KafkaHandle
    private let topics: TopicHandles
    private let context: DeliveryContext
    /// Polls the handle between jobs (delivery reports) and runs its flush; destroys it last.
    private let owner: OwnerThread
    private let flushTimeoutMilliseconds: Int32

    /// A record the caller wants to hear about once the broker took it, and where it went.
    public typealias Acknowledged = @Sendable (_ marker: Marker, _ partition: Int, _ offset: Int64) -> Void

    /// What `send` was given to pass on to `onAcknowledged`.
    public struct Marker: Sendable {
        public var key: String
        public var session: UInt64
        /// A source video keyframe (where HTTP-FLV/RTMP readers start).
        public var isKeyframe: Bool
        /// The segment start the record is, if it is one (its offset still to be filled in).
        public var segmentStart: SegmentStart?

        public init(key: String, session: UInt64, isKeyframe: Bool = true, segmentStart: SegmentStart? = nil) {
            self.key = key
            self.session = session
            self.isKeyframe = isKeyframe
            self.segmentStart = segmentStart
        }
    }

    public init(configuration: KafkaConfiguration, logger: Logger,
                onDeliveryFailure: @escaping @Sendable (DeliveryFailure) -> Void = { _ in },
                onAcknowledged: @escaping Acknowledged = { _, _, _ in }) throws {
        let settings = try KafkaConfiguration.make(configuration.producerProperties)
        context = DeliveryContext(logger: logger, onFailure: onDeliveryFailure, onAcknowledged: onAcknowledged)
        rd_kafka_conf_set_opaque(settings, Unmanaged.passUnretained(context).toOpaque())
        rd_kafka_conf_set_dr_msg_cb(settings) { _, message, opaque in
            guard let message, let opaque else { return }
            Unmanaged<DeliveryContext>.fromOpaque(opaque).takeUnretainedValue().report(message.pointee)
        }
        rd_kafka_conf_set_error_cb(settings) { _, error, reason, opaque in
            guard let opaque else { return }
            let text = reason.map { String(cString: $0) } ?? String(cString: rd_kafka_err2str(rd_kafka_resp_err_t(error)))
            Unmanaged<DeliveryContext>.fromOpaque(opaque).takeUnretainedValue().clientError(rd_kafka_resp_err_t(error), text)
        }
        var message = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(RD_KAFKA_PRODUCER, settings, &message, message.count) else {
            rd_kafka_conf_destroy(settings)
            throw EventBusError(.unavailable, "Kafka producer: \(String(errorBuffer: message))")
        }
        self.handle = KafkaHandle(handle)
        flushTimeoutMilliseconds = Int32(configuration.flushTimeoutMilliseconds)
        topics = TopicHandles()
        // Delivery reports are served here, never on an event loop or the cooperative pool; the
        // flush at close runs on the same thread, between polls.
        let poll = DeliveryPoll(handle: self.handle, context: context)
        owner = OwnerThread(name: "kafka-producer", idle: { poll.step() })
    }

    /// Ends the owner thread, which destroys the handle (queued records are dropped: `close()`
    /// first to deliver them).
    deinit { Self.destroy(handle, topics, on: owner) }

    private static func destroy(_ handle: KafkaHandle, _ topics: TopicHandles, on owner: OwnerThread) {
        owner.submit { handle.destroy { _ in topics.destroyAll() } }
        owner.stop()
    }

    /// Queues one record (key and value are copied).
    /// - Throws: `EventBusError` `.queueFull` when the queue is at its bound, `.unavailable` for
    ///   anything else librdkafka refuses at once (an unknown partition, a record too large).
    /// - Parameter marker: passed to `onAcknowledged` with the record's offset once the broker
    ///   has it.
    public func send(topic: String, partition: Int, key: [UInt8], value: UnsafeRawBufferPointer, marker: Marker? = nil) throws {
        // The record's own context travels through librdkafka as its opaque and comes back with
        // the delivery report, which releases it.
        let sent = Unmanaged.passRetained(SentRecord(at: DispatchTime.now().uptimeNanoseconds, marker: marker))
        let result: Int32?
        do {
            result = try handle.use { pointer in
                let topicHandle = try topics.handle(topic, in: pointer)
                return key.withUnsafeBytes { key in
                    rd_kafka_produce(topicHandle, Int32(partition), RD_KAFKA_MSG_F_COPY,
                                     UnsafeMutableRawPointer(mutating: value.baseAddress), value.count,
                                     key.baseAddress, key.count, sent.toOpaque())
                }
            }
        } catch {
            sent.release()
            throw error
        }
        guard let result else {
            sent.release()
            throw EventBusError(.closed, "publish to \(topic) after the producer closed")
        }
        if result != 0 {
            sent.release()
            throw EventBusError.kafka(rd_kafka_last_error(), "publish to \(topic)[\(partition)]")
        }
    }

    public var acknowledgements: Acknowledgements { context.acknowledgements }

    /// Why the brokers cannot be reached now (all of them down, or records timing out); nil
    /// once one answers again.
    public var outage: String? { context.outage }

    /// Records not yet acknowledged by the broker.
    public var queued: Int { handle.use { Int(rd_kafka_outq_len($0)) } ?? 0 }

    /// Waits (on the producer's thread, between polls) until queued records are delivered or the
    /// flush timeout passes; then stops serving delivery reports and destroys the handle.
    public func close() async {
        let handle = handle
        let timeout = flushTimeoutMilliseconds
        let logger = context.logger
        _ = try? await owner.run {
            handle.use { pointer in
                let result = rd_kafka_flush(pointer, timeout)
                if result != RD_KAFKA_RESP_ERR_NO_ERROR {
                    logger.warning("Kafka flush left records undelivered",
                                   metadata: ["queued": "\(rd_kafka_outq_len(pointer))",
                                              "error": "\(String(cString: rd_kafka_err2str(result)))"])
                }
            }
        }
        Self.destroy(handle, topics, on: owner)
        await owner.join()
    }
}

/// The producer thread's idle step: serves delivery reports, and while no broker answers asks for
/// metadata once a second (an answer means one is back).
private final class DeliveryPoll: @unchecked Sendable {
    // @unchecked: `lastProbe` is only touched by `step`, which only the owner thread runs.
    private let handle: KafkaHandle
    private let context: DeliveryContext
    private var lastProbe = DispatchTime.now()
    /// Short, so a flush queued meanwhile waits at most this long for its turn.
    static let pollMilliseconds: Int32 = 50

    init(handle: KafkaHandle, context: DeliveryContext) {
        self.handle = handle
        self.context = context
    }

    func step() -> OwnerThread.IdleStep {
        _ = handle.use { rd_kafka_poll($0, Self.pollMilliseconds) }
        if context.outage != nil, DispatchTime.now().uptimeNanoseconds - lastProbe.uptimeNanoseconds > 1_000_000_000 {
            lastProbe = DispatchTime.now()
            var metadata: UnsafePointer<rd_kafka_metadata_t>?
            let answered = handle.use { rd_kafka_metadata($0, 0, nil, &metadata, 1000) } == RD_KAFKA_RESP_ERR_NO_ERROR
            if answered, let metadata {
                rd_kafka_metadata_destroy(metadata)
                context.recovered()
            }
        }
        return .again
    }
}

/// The producer's topic handles, made on first use and destroyed with the client.
private final class TopicHandles: @unchecked Sendable {
    // @unchecked: the dictionary is only touched under `lock`.
    /// A topic's handle is made on its first `send`, on whichever thread publishes; `send` is synchronous,
    /// so a lock.
    private let lock = NIOLock()
    private var handles: [String: OpaquePointer] = [:]

    func handle(_ name: String, in client: OpaquePointer) throws -> OpaquePointer {
        try lock.withLock {
            if let topic = handles[name] { return topic }
            guard let topic = rd_kafka_topic_new(client, name, nil) else {
                throw EventBusError.kafka(rd_kafka_last_error(), "topic \(name)")
            }
            handles[name] = topic
            return topic
        }
    }

    func destroyAll() {
        lock.withLock {
            for topic in handles.values { rd_kafka_topic_destroy(topic) }
            handles.removeAll()
        }
    }
}

/// One record's context between `send` and its delivery report.
private final class SentRecord: Sendable {
    let at: UInt64
    let marker: KafkaProducer.Marker?

    init(at: UInt64, marker: KafkaProducer.Marker?) {
        self.at = at
        self.marker = marker
    }
}

/// What the delivery-report callback reaches through librdkafka's opaque pointer.
private final class DeliveryContext: Sendable {
    let logger: Logger
    let onFailure: @Sendable (KafkaProducer.DeliveryFailure) -> Void
    let onAcknowledged: KafkaProducer.Acknowledged
    /// Written by delivery reports on the poll thread, read by metrics from any task: a C callback cannot
    /// await, so a lock.
    private let counts = NIOLockedValueBox(KafkaProducer.Acknowledgements())

    init(logger: Logger, onFailure: @escaping @Sendable (KafkaProducer.DeliveryFailure) -> Void,
         onAcknowledged: @escaping KafkaProducer.Acknowledged) {
        self.logger = logger
        self.onFailure = onFailure
        self.onAcknowledged = onAcknowledged
    }

    var acknowledgements: KafkaProducer.Acknowledgements { counts.withLockedValue { $0 } }

    /// Set and cleared by librdkafka's callbacks and the poll thread's probe, read by health checks;
    /// locked like `counts`.
    private let outageReason = NIOLockedValueBox<String?>(nil)
    var outage: String? { outageReason.withLockedValue { $0 } }

    func clientError(_ error: rd_kafka_resp_err_t, _ text: String) {
        if error == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN {
            if outageReason.withLockedValue({ state in
                defer { state = "Kafka: \(text)" }
                return state == nil
            }) {
                logger.error("Kafka unreachable", metadata: ["reason": "\(text)"])
            }
        } else {
            logger.warning("Kafka client error", metadata: ["reason": "\(text)"])
        }
    }

    func recovered() {
        if outageReason.withLockedValue({ state in
            defer { state = nil }
            return state != nil
        }) {
            logger.notice("Kafka reachable again")
        }
    }

    func report(_ message: rd_kafka_message_t) {
        guard let opaque = message._private else { return }
        let sent = Unmanaged<SentRecord>.fromOpaque(opaque).takeRetainedValue()
        let now = DispatchTime.now().uptimeNanoseconds
        if message.err == RD_KAFKA_RESP_ERR_NO_ERROR {
            recovered()
            counts.withLockedValue {
                $0.delivered += 1
                $0.nanoseconds += Int64(now - sent.at)
            }
            if let marker = sent.marker { onAcknowledged(marker, Int(message.partition), message.offset) }
            return
        }
        counts.withLockedValue { $0.failed += 1 }
        let failure = KafkaProducer.DeliveryFailure(topic: String(cString: rd_kafka_topic_name(message.rkt)),
                                                    partition: Int(message.partition),
                                                    error: String(cString: rd_kafka_err2str(message.err)))
        logger.error("\(failure)")
        onFailure(failure)
    }
}

/// A librdkafka handle (`rd_kafka_t *`) used from several threads. librdkafka's handles are
/// thread-safe; what is not is destroying one while another thread is inside a call. So calls go
/// through `use`, which refuses once `destroy` began, and `destroy` waits for the calls in
/// progress. The handle's owner thread (which polls it) destroys it last.
final class KafkaHandle: Sendable {
    let pointer: KafkaPointer
    /// Whether `destroy` began and how many calls are inside `use`: shared by the owner thread and callers'
    /// threads, so a lock.
    private let state = NIOLockedValueBox((destroyed: false, inUse: 0))
    /// Signalled by the last call to leave `use` after `destroy` began; the owner thread waits on it
    /// once (a plain thread cannot await, and must not sleep in a loop).
    private let drained = DispatchSemaphore(value: 0)

    init(_ pointer: OpaquePointer) {
        self.pointer = KafkaPointer(raw: pointer)
    }

    /// Runs `body` with the handle; nil once it is destroyed.
    func use<T>(_ body: (OpaquePointer) throws -> T) rethrows -> T? {
        let usable = state.withLockedValue { state in
            if !state.destroyed { state.inUse += 1 }
            return !state.destroyed
        }
        guard usable else { return nil }
        defer {
            let last = state.withLockedValue { state in
                state.inUse -= 1
                return state.destroyed && state.inUse == 0
            }
            if last { drained.signal() }
        }
        return try body(pointer.raw)
    }

    /// Refuses new calls, waits for those in progress, runs `last` (closing, topic handles), and
    /// destroys the handle. Called once, by the handle's owner thread.
    func destroy(after last: (OpaquePointer) -> Void) {
        let busy = state.withLockedValue { state in
            state.destroyed = true
            return state.inUse > 0
        }
        if busy { drained.wait() }
        last(pointer.raw)
        rd_kafka_destroy(pointer.raw)
    }
}

/// The raw handle, for the code that decides when it is destroyed.
/// `@unchecked`: librdkafka handles are thread-safe, and `KafkaHandle` decides when this one is destroyed.
struct KafkaPointer: @unchecked Sendable {
    let raw: OpaquePointer
}
