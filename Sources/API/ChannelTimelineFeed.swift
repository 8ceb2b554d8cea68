import Events
import Foundation
import Logging
import ServiceLifecycle

/// Fills a `ChannelTimeline` from the log: stream lifecycle events, stored assets and webhook
/// dead letters, each topic read from its beginning (a cluster's Kafka keeps a week). On one
/// machine the embedded bus holds only this run's events, so the journal of earlier runs
/// (`{data-dir}/events/{topic}.jsonl`, its newest `journalTail` bytes) is read first, at
/// construction, before anything of this run is published; this run's records get the offsets
/// the journal gives them, so an event's id stays the same after a restart.
public final class ChannelTimelineFeed: Service, Sendable {
    static let topics: [Topic] = [.streamLifecycle, .assets, .webhookDeadLetter]
    /// Bytes read from the end of each journal file at start. 16 MiB (tens of thousands of events).
    static let journalTail = 16 << 20

    let timeline: ChannelTimeline
    private let subscriptions: [(Topic, BusSubscription)]
    /// Per topic on one machine: the journal offset of the embedded log's record 0; nil in a cluster.
    private let journalBase: [Topic: Int64]?
    private let logger: Logger

    /// - Parameter journal: the single machine's journal folder; nil in a cluster (Kafka).
    public convenience init(bus: any EventBus, journal: URL?, logger: Logger) {
        self.init(bus: bus, journal: journal, timeline: ChannelTimeline(), logger: logger)
    }

    init(bus: any EventBus, journal: URL?, timeline: ChannelTimeline, logger: Logger) {
        self.timeline = timeline
        self.logger = logger
        var base: [Topic: Int64]?
        if let journal {
            var offsets: [Topic: Int64] = [:]
            for topic in Self.topics { offsets[topic] = Self.readJournal(topic, in: journal, into: timeline, logger: logger) }
            base = offsets
        }
        journalBase = base
        subscriptions = Self.topics.map { ($0, bus.subscribe(to: $0, from: .beginning)) }
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for (topic, subscription) in self.subscriptions {
                    tasks.addTask {
                        for try await delivery in subscription { self.add(delivery, of: topic) }
                    }
                }
                try await tasks.next()
                tasks.cancelAll()
            }
        }
    }

    func add(_ delivery: BusDelivery, of topic: Topic) {
        let id: String
        if let base = journalBase?[topic] {
            id = Self.id(topic, offset: base &+ delivery.offset)
        } else {
            id = "\(Self.letter(topic))\(delivery.partition).\(delivery.offset)"
        }
        guard let event = Self.event(delivery.record.value, id: id, at: delivery.publishedAt) else { return }
        timeline.add(event, key: delivery.record.key)
    }

    static func event(_ value: BusValue, id: String, at: Date) -> TimelineEvent? {
        switch value {
        case .lifecycle(let event): return TimelineEvent(id: id, at: at, event)
        case .asset(let asset): return TimelineEvent(id: id, at: at, asset)
        case .webhookDeadLetter(let letter): return TimelineEvent(id: id, at: at, letter)
        default: return nil
        }
    }

    static func letter(_ topic: Topic) -> String {
        switch topic {
        case .assets: return "a"
        case .webhookDeadLetter: return "w"
        default: return "l"
        }
    }

    static func id(_ topic: Topic, offset: Int64) -> String { "\(letter(topic))\(offset)" }

    // MARK: Journal

    /// Adds the journal's newest events of `topic` to `timeline`; returns the offset the journal
    /// gives its next record (0 without a journal).
    static func readJournal(_ topic: Topic, in directory: URL, into timeline: ChannelTimeline, logger: Logger) -> Int64 {
        let lines = tail(of: EventJournal.file(of: topic, in: directory), bytes: journalTail)
        var next: Int64 = 0
        let codec = EventCodec()
        for line in lines {
            guard let entry = try? JournalEntry(line: line) else { continue }
            next = max(next, entry.offset &+ 1)
            guard let envelope = try? JSONEncoder().encode(entry.event),
                  let value = decode(envelope, of: topic, codec: codec),
                  let event = event(value, id: id(topic, offset: entry.offset), at: entry.time ?? Date(timeIntervalSince1970: 0))
            else { continue }
            timeline.add(event, key: entry.key)
        }
        logger.debug("timeline read the journal", metadata: ["topic": "\(topic.name)", "lines": "\(lines.count)"])
        return next
    }

    private static func decode(_ envelope: Data, of topic: Topic, codec: EventCodec) -> BusValue? {
        switch topic {
        case .streamLifecycle: return (try? codec.decodeLifecycle(envelope)).map { .lifecycle($0.event) }
        case .assets: return (try? codec.decodeAsset(envelope)).map(BusValue.asset)
        case .webhookDeadLetter: return (try? codec.decodeWebhookDeadLetter(envelope)).map(BusValue.webhookDeadLetter)
        default: return nil
        }
    }

    /// The whole lines in the last `bytes` of `file`; none when it cannot be read.
    static func tail(of file: URL, bytes: Int) -> [Data] {
        guard let handle = try? FileHandle(forReadingFrom: file) else { return [] }
        defer { try? handle.close() }
        guard let size = try? handle.seekToEnd() else { return [] }
        let start = size > UInt64(bytes) ? size - UInt64(bytes) : 0
        guard (try? handle.seek(toOffset: start)) != nil, let data = try? handle.readToEnd() else { return [] }
        var lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).map { Data($0) }
        // A tail that starts mid-file starts mid-line.
        if start > 0, !lines.isEmpty { lines.removeFirst() }
        return lines
    }
}
