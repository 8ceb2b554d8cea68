import ArgumentParser
import Events
import Foundation
import Logging

/// `sluice replay`: the audit trail of a control topic as JSON lines — from the single-machine
/// journal in the data dir (`{data-dir}/events/{topic}.jsonl`), or from Kafka with `--kafka`.
/// `--reset-group` rewinds a Kafka consumer group instead, so its workers handle the topic again.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Print a control topic's events as JSON lines ({event, key, offset}, with Kafka also partition), oldest first; or rewind a consumer group."
    )

    @Option(help: "Topic: \(EventJournal.topics.map(\.name).joined(separator: ", ")).")
    var topic: String

    @Option(help: "Start at this offset (with Kafka: in every partition).")
    var fromOffset: Int64?

    @Option(help: "Start at this time (RFC 3339, e.g. 2026-11-30T12:00:00Z).")
    var fromTime: String?

    @Option(help: "Only this stream's events (the record key).")
    var stream: String?

    @Option(help: "The data dir `sluice serve` wrote to.")
    var dataDir = "./data"

    @Option(help: "Read from Kafka, host:port[,host:port…] (env SLUICE_KAFKA), instead of the data dir.")
    var kafka: String?

    @Option(help: "Kafka: seconds without a new record after which the replay ends.")
    var idleSeconds = 3.0

    @Option(help: "Kafka: rewind this consumer group on --topic to --from-offset (default 0) in every partition, and print nothing else. Worker groups are named sluice-{worker}.{topic}, e.g. sluice-webhooks.sluice.stream.lifecycle; stop the group's workers first.")
    var resetGroup: String?

    func run() async throws {
        guard let topic = Topic(rawValue: topic), EventJournal.topics.contains(topic) else {
            throw ValidationError("--topic must be one of \(EventJournal.topics.map(\.name).joined(separator: ", ")) (media topics are not replayed).")
        }
        guard fromOffset == nil || fromTime == nil else { throw ValidationError("Give --from-offset or --from-time, not both.") }
        var since: Date?
        if let fromTime {
            guard let parsed = ISO8601DateFormatter().date(from: fromTime) else {
                throw ValidationError("--from-time must be an RFC 3339 time such as 2026-11-30T12:00:00Z.")
            }
            since = parsed
        }
        if let brokers = kafka ?? ProcessInfo.processInfo.environment["SLUICE_KAFKA"], !brokers.isEmpty {
            let configuration = KafkaConfiguration(brokers: brokers, clientID: "sluice-replay")
            if let resetGroup {
                guard since == nil else { throw ValidationError("--reset-group takes --from-offset, not --from-time.") }
                try await rewind(group: resetGroup, topic: topic, to: fromOffset ?? 0, configuration: configuration)
            } else {
                try await replayFromKafka(topic, since: since, configuration: configuration)
            }
            return
        }
        guard resetGroup == nil else { throw ValidationError("--reset-group needs --kafka (consumer groups live in Kafka).") }
        let directory = URL(fileURLWithPath: dataDir, isDirectory: true).appendingPathComponent("events", isDirectory: true)
        guard FileManager.default.fileExists(atPath: EventJournal.file(of: topic, in: directory).path) else {
            throw ValidationError("No journal for \(topic.name) under \(directory.path): has `sluice serve` run with this --data-dir?")
        }
        for entry in try EventJournal.read(topic, in: directory, fromOffset: fromOffset, fromTime: since, key: stream) {
            print(entry.line)
        }
    }

    /// Every partition from the start (or `--from-offset`), until nothing new came for
    /// `--idle-seconds`; lines as the journal writes them, with the partition. A record that is not
    /// JSON (never written by Sluice) is reported on stderr and skipped.
    private func replayFromKafka(_ topic: Topic, since: Date?, configuration: KafkaConfiguration) async throws {
        let partitions = try await partitions(of: topic, configuration: configuration)
        let consumer = try KafkaConsumer(configuration: configuration, group: nil, logger: Logger(label: "replay"))
        try consumer.assign(partitions.map { ($0, fromOffset ?? KafkaConsumer.oldest) })
        let sinceMilliseconds = since.map { Int64($0.timeIntervalSince1970 * 1000) }
        while let message = await next(from: consumer) {
            let key = String(decoding: message.key, as: UTF8.self)
            if let stream, key != stream { continue }
            if let sinceMilliseconds, message.timestampMilliseconds < sinceMilliseconds { continue }
            do {
                let entry = try JournalEntry(partition: message.partition, offset: message.offset, key: key,
                                             envelope: Data(message.value.readableBytesView))
                print(String(decoding: try entry.encoded(), as: UTF8.self))
            } catch {
                FileHandle.standardError.write(Data("sluice replay: \(topic.name)[\(message.partition)]@\(message.offset) is not JSON: \(error)\n".utf8))
            }
        }
        await consumer.close()
    }

    /// The next record, or nil after `--idle-seconds` without one.
    private func next(from consumer: KafkaConsumer) async -> KafkaMessage? {
        await withTaskGroup(of: KafkaMessage?.self) { group in
            group.addTask { await consumer.next() }
            group.addTask {
                try? await Task.sleep(for: .seconds(idleSeconds))
                return nil
            }
            defer { group.cancelAll() }
            return await group.next() ?? nil
        }
    }

    private func rewind(group: String, topic: Topic, to offset: Int64, configuration: KafkaConfiguration) async throws {
        let partitions = try await partitions(of: topic, configuration: configuration)
        let consumer = try KafkaConsumer(configuration: configuration, group: group, logger: Logger(label: "replay"))
        try await consumer.commit(partitions.map { ($0, offset) })
        await consumer.close()
        print("group \(group) rewound to offset \(offset) in \(partitions.count) partitions of \(topic.name)")
    }

    private func partitions(of topic: Topic, configuration: KafkaConfiguration) async throws -> [KafkaPartition] {
        let admin = try KafkaAdmin(configuration: configuration)
        let counts = try await admin.partitionCounts([topic.name])
        return (0..<(counts[topic.name] ?? 0)).map { KafkaPartition(topic: topic.name, partition: $0) }
    }
}
