import ArgumentParser
import Events
import Foundation

/// `sluice replay`: the audit trail of a control topic as JSON lines, from the single-machine
/// journal in the data dir (`{data-dir}/events/{topic}.jsonl`).
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Print a control topic's events as JSON lines ({offset, key, event}), oldest first."
    )

    @Option(help: "Topic: \(EventJournal.topics.map(\.name).joined(separator: ", ")).")
    var topic: String

    @Option(help: "Start at this offset.")
    var fromOffset: Int64?

    @Option(help: "Start at this time (RFC 3339, e.g. 2026-11-30T12:00:00Z).")
    var fromTime: String?

    @Option(help: "Only this stream's events (the record key).")
    var stream: String?

    @Option(help: "The data dir `sluice serve` wrote to.")
    var dataDir = "./data"

    func run() throws {
        guard let topic = Topic(rawValue: topic), EventJournal.topics.contains(topic) else {
            throw ValidationError("--topic must be one of \(EventJournal.topics.map(\.name).joined(separator: ", ")) (media topics are not journaled).")
        }
        guard fromOffset == nil || fromTime == nil else { throw ValidationError("Give --from-offset or --from-time, not both.") }
        var since: Date?
        if let fromTime {
            guard let parsed = ISO8601DateFormatter().date(from: fromTime) else {
                throw ValidationError("--from-time must be an RFC 3339 time such as 2026-11-30T12:00:00Z.")
            }
            since = parsed
        }
        let directory = URL(fileURLWithPath: dataDir, isDirectory: true).appendingPathComponent("events", isDirectory: true)
        guard FileManager.default.fileExists(atPath: EventJournal.file(of: topic, in: directory).path) else {
            throw ValidationError("No journal for \(topic.name) under \(directory.path): has `sluice serve` run with this --data-dir?")
        }
        for entry in try EventJournal.read(topic, in: directory, fromOffset: fromOffset, fromTime: since, key: stream) {
            print(entry.line)
        }
    }
}
