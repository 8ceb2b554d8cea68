import Crdkafka
import Logging

/// Where librdkafka's own log lines go (its C callback cannot capture a logger).
private let librdkafkaLogger = Logger(label: "librdkafka")

/// librdkafka settings for Sluice's producers and consumers: low latency for media frames and
/// room for large ones (a 1080p keyframe can exceed librdkafka's default 1,000,000 bytes).
public struct KafkaConfiguration: Sendable {
    /// `host:port[,host:port…]`.
    public var brokers: String
    /// Written into client ids, so the broker's logs name the node.
    public var clientID: String
    /// Largest record Sluice produces or accepts.
    public var maxMessageBytes = 16 << 20
    /// A consumer that stops heartbeating for this long leaves its group. On Tansu every
    /// JoinGroup is also held for half of it (3 s at the default), so a dead member's partitions
    /// reach a survivor about 1.5 times this after the death (measured: 8.4–9.1 s at 6000).
    public var sessionTimeoutMilliseconds = 6000
    /// Records waiting in the producer before `publish` throws `queueFull`.
    public var producerQueueMessages = 100_000
    /// Bytes waiting in the producer before `publish` throws `queueFull`.
    public var producerQueueKilobytes = 512 * 1024
    /// How long shutdown waits for queued records to reach the broker.
    public var flushTimeoutMilliseconds = 10_000
    /// Extra librdkafka properties, applied last (tests, tuning).
    public var overrides: [String: String] = [:]

    public init(brokers: String, clientID: String = "sluice") {
        self.brokers = brokers
        self.clientID = clientID
    }

    var producerProperties: [String: String] {
        [
            "bootstrap.servers": brokers,
            "client.id": clientID,
            "enable.idempotence": "true",
            "acks": "all",
            // A frame waits at most 1 ms for company before it is sent.
            "linger.ms": "1",
            "message.max.bytes": String(maxMessageBytes + 4096),
            "queue.buffering.max.messages": String(producerQueueMessages),
            "queue.buffering.max.kbytes": String(producerQueueKilobytes),
            "message.timeout.ms": "30000",
            "socket.keepalive.enable": "true",
            "reconnect.backoff.max.ms": "2000",
        ].merging(overrides) { _, override in override }
    }

    func consumerProperties(group: String?) -> [String: String] {
        var properties = [
            "bootstrap.servers": brokers,
            "client.id": clientID,
            // The broker answers a fetch after 10 ms even with nothing new (its default: 500 ms).
            "fetch.wait.max.ms": "10",
            "fetch.max.bytes": String(max(64 << 20, maxMessageBytes * 2)),
            "max.partition.fetch.bytes": String(maxMessageBytes + 4096),
            "receive.message.max.bytes": String(max(64 << 20, maxMessageBytes * 2) + 65_536),
            "message.max.bytes": String(maxMessageBytes + 4096),
            "session.timeout.ms": String(sessionTimeoutMilliseconds),
            // Tansu checks for dead members only when a live one heartbeats: a survivor hears of a
            // death at most one heartbeat after the session timeout (300 ms at the 6 s default).
            "heartbeat.interval.ms": String(max(100, sessionTimeoutMilliseconds / 20)),
            // Also the rebalance timeout: a join that a leaving member interrupted waits at most
            // this long (librdkafka's default is 5 minutes); a reader stuck this long is let go.
            "max.poll.interval.ms": "30000",
            "auto.offset.reset": "earliest",
            "enable.partition.eof": "false",
            "socket.keepalive.enable": "true",
            "reconnect.backoff.max.ms": "2000",
            // Offsets are stored by the consumer once a record is handled and committed in the
            // background (and on close): at-least-once.
            "enable.auto.commit": "true",
            "enable.auto.offset.store": "false",
            "auto.commit.interval.ms": "1000",
        ]
        // librdkafka wants a group id even for a consumer that only assigns partitions; such a
        // consumer never joins or commits.
        properties["group.id"] = group ?? "sluice-reader-\(clientID)"
        return properties.merging(overrides) { _, override in override }
    }

    /// A librdkafka configuration object, or the first property it refused.
    static func make(_ properties: [String: String]) throws -> OpaquePointer {
        let configuration = rd_kafka_conf_new()!
        for (name, value) in properties.sorted(by: { $0.key < $1.key }) {
            var message = [CChar](repeating: 0, count: 512)
            if rd_kafka_conf_set(configuration, name, value, &message, message.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(configuration)
                throw EventBusError(.unavailable, "Kafka setting \(name)=\(value): \(String(errorBuffer: message))")
            }
        }
        // librdkafka logs to stderr unless told otherwise; its syslog levels map onto swift-log's.
        rd_kafka_conf_set_log_cb(configuration) { handle, level, facility, text in
            let name = handle.flatMap { rd_kafka_name($0) }.map { String(cString: $0) } ?? "kafka"
            let line: Logger.Message = "\(facility.map { String(cString: $0) } ?? ""): \(text.map { String(cString: $0) } ?? "")"
            switch level {
            case ...3: librdkafkaLogger.error(line, metadata: ["client": "\(name)"])
            case 4: librdkafkaLogger.warning(line, metadata: ["client": "\(name)"])
            case 5, 6: librdkafkaLogger.info(line, metadata: ["client": "\(name)"])
            default: librdkafkaLogger.debug(line, metadata: ["client": "\(name)"])
            }
        }
        return configuration
    }
}

extension String {
    /// The text librdkafka wrote into an error buffer.
    init(errorBuffer: [CChar]) {
        self.init(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension EventBusError {
    /// An error from librdkafka, with its name and text.
    static func kafka(_ error: rd_kafka_resp_err_t, _ context: String) -> EventBusError {
        let code: Code = error == RD_KAFKA_RESP_ERR__QUEUE_FULL ? .queueFull : .unavailable
        return EventBusError(code, "\(context): \(String(cString: rd_kafka_err2str(error)))")
    }
}
