import Crdkafka

/// Topic administration and metadata: creating the catalog's topics, reading partition counts.
/// Calls block (up to their timeout), so they run on the admin's owner thread
/// (`kafka-admin`), one at a time, never on an event loop or the cooperative pool.
public final class KafkaAdmin: Sendable {
    /// Used by one call at a time, on `owner`, which destroys it last.
    private let handle: KafkaPointer
    private let owner = OwnerThread(name: "kafka-admin")

    public init(configuration: KafkaConfiguration) throws {
        var properties = configuration.producerProperties
        properties["enable.idempotence"] = "false"
        let settings = try KafkaConfiguration.make(properties)
        var message = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(RD_KAFKA_PRODUCER, settings, &message, message.count) else {
            rd_kafka_conf_destroy(settings)
            throw EventBusError(.unavailable, "Kafka admin client: \(String(errorBuffer: message))")
        }
        self.handle = KafkaPointer(raw: handle)
    }

    deinit {
        let handle = handle
        owner.submit { rd_kafka_destroy(handle.raw) }
        owner.stop()
    }

    /// Creates the topics that do not exist yet, on the admin's thread; existing ones are left as
    /// they are.
    /// - Returns: the names created.
    @discardableResult
    public func createTopics(_ specs: [TopicSpec], timeoutMilliseconds: Int32 = 10_000) async throws -> [String] {
        try await owner.run { try self.createOnOwner(specs, timeoutMilliseconds: timeoutMilliseconds) }
    }

    /// Partition counts of `topics` as the cluster reports them, asked on the admin's thread; a
    /// topic the cluster does not have is an error that says how to create it.
    public func partitionCounts(_ topics: [String], timeoutMilliseconds: Int32 = 10_000) async throws -> [String: Int] {
        try await owner.run { try self.partitionCountsOnOwner(topics, timeoutMilliseconds: timeoutMilliseconds) }
    }

    /// `createTopics`, run on `owner`: blocks up to the timeout per topic.
    private func createOnOwner(_ specs: [TopicSpec], timeoutMilliseconds: Int32) throws -> [String] {
        var created: [String] = []
        for spec in specs {
            var message = [CChar](repeating: 0, count: 512)
            guard let topic = rd_kafka_NewTopic_new(spec.name, Int32(spec.partitions), -1, &message, message.count) else {
                throw EventBusError(.unavailable, "topic \(spec.name): \(String(errorBuffer: message))")
            }
            defer { rd_kafka_NewTopic_destroy(topic) }
            for (name, value) in spec.configs.sorted(by: { $0.key < $1.key }) {
                let result = rd_kafka_NewTopic_set_config(topic, name, value)
                guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw EventBusError.kafka(result, "topic \(spec.name) \(name)") }
            }
            let queue = rd_kafka_queue_new(handle.raw)!
            defer { rd_kafka_queue_destroy(queue) }
            let options = rd_kafka_AdminOptions_new(handle.raw, RD_KAFKA_ADMIN_OP_CREATETOPICS)!
            defer { rd_kafka_AdminOptions_destroy(options) }
            rd_kafka_AdminOptions_set_request_timeout(options, timeoutMilliseconds, &message, message.count)
            var topics: [OpaquePointer?] = [topic]
            rd_kafka_CreateTopics(handle.raw, &topics, 1, options, queue)
            guard let event = rd_kafka_queue_poll(queue, timeoutMilliseconds + 1000) else {
                throw EventBusError(.unavailable, "topic \(spec.name): the broker did not answer")
            }
            defer { rd_kafka_event_destroy(event) }
            let eventError = rd_kafka_event_error(event)
            guard eventError == RD_KAFKA_RESP_ERR_NO_ERROR else { throw EventBusError.kafka(eventError, "create \(spec.name)") }
            var count = 0
            let results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count)
            for index in 0..<count {
                let result = rd_kafka_topic_result_error(results![index])
                switch result {
                case RD_KAFKA_RESP_ERR_NO_ERROR: created.append(spec.name)
                case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS: break
                default:
                    let text = rd_kafka_topic_result_error_string(results![index]).map { String(cString: $0) } ?? ""
                    throw EventBusError(.unavailable, "create \(spec.name): \(String(cString: rd_kafka_err2str(result))) \(text)")
                }
            }
        }
        return created
    }

    /// `partitionCounts`, run on `owner`: blocks up to the timeout.
    private func partitionCountsOnOwner(_ topics: [String], timeoutMilliseconds: Int32) throws -> [String: Int] {
        var metadata: UnsafePointer<rd_kafka_metadata_t>?
        let result = rd_kafka_metadata(handle.raw, 1, nil, &metadata, timeoutMilliseconds)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw EventBusError.kafka(result, "Kafka metadata from \(rd_kafka_name(handle.raw).map { String(cString: $0) } ?? "broker")")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        var counts: [String: Int] = [:]
        for index in 0..<Int(metadata.pointee.topic_cnt) {
            let topic = metadata.pointee.topics[index]
            if topic.err == RD_KAFKA_RESP_ERR_NO_ERROR { counts[String(cString: topic.topic)] = Int(topic.partition_cnt) }
        }
        let missing = topics.filter { counts[$0] == nil }
        guard missing.isEmpty else {
            throw EventBusError(.unavailable, "Kafka has no topic \(missing.joined(separator: ", ")); create them with `sluice topics create`")
        }
        return counts.filter { topics.contains($0.key) }
    }
}
