import Foundation

/// The single-machine bus's audit trail: every event on a control topic (everything but media
/// frames) appended as one JSON line to `{directory}/{topic}.jsonl`, so `sluice replay` can read
/// it after the process is gone. A line is a `JournalEntry`; offsets count per topic across
/// restarts.
///
/// Appending never blocks the publisher: lines are written in order on the journal's owner thread
/// (`event-journal`). They reach the file (the kernel) at once, so a crashed process loses
/// nothing it wrote.
public final class EventJournal: @unchecked Sendable {
    // @unchecked: `handles` and `nextOffsets` are set in `init`, then only touched by jobs on `owner`.
    private let directory: URL
    /// Owns `handles` and `nextOffsets` and keeps lines in publish order; a thread, not a lock, so
    /// a blocking file write never holds up a publisher.
    private let owner = OwnerThread(name: "event-journal")
    private var handles: [Topic: FileHandle] = [:]
    private var nextOffsets: [Topic: Int64] = [:]
    private let source: String
    private let codec = EventCodec()

    /// Topics the journal keeps: the control topics.
    public static let topics = Topic.allCases.filter { ![.mediaSource, .mediaRenditions].contains($0) }

    /// - Parameter source: the node name written into each envelope.
    public init(directory: URL, source: String) throws {
        self.directory = directory
        self.source = source
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for topic in Self.topics {
            let url = Self.file(of: topic, in: directory)
            if !FileManager.default.fileExists(atPath: url.path) {
                guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                    throw EventBusError(.closed, "cannot create \(url.path)")
                }
            }
            let handle = try FileHandle(forUpdating: url)
            try Self.dropTornLine(in: handle)
            nextOffsets[topic] = try Self.lastOffset(in: handle).map { $0 + 1 } ?? 0
            try handle.seekToEnd()
            handles[topic] = handle
        }
    }

    public static func file(of topic: Topic, in directory: URL) -> URL {
        directory.appendingPathComponent("\(topic.name).jsonl")
    }

    /// Queues `record` for its topic's file; media frames and unknown topics are ignored.
    public func append(_ record: BusRecord, to topic: Topic, time: Date = Date()) {
        guard let envelope = try? codec.encode(record.value, time: time, source: source) else { return }
        owner.submit { [self] in
            guard let handle = handles[topic], let offset = nextOffsets[topic] else { return }
            do {
                let line = try JournalEntry(offset: offset, key: record.key, envelope: envelope).encoded()
                try handle.write(contentsOf: line + Data("\n".utf8))
                nextOffsets[topic] = offset + 1
            } catch {
                // The in-memory bus still carries the event; only the audit copy is missing.
                FileHandle.standardError.write(Data("sluice: event journal write failed: \(error)\n".utf8))
            }
        }
    }

    /// Waits until every queued line is written, then closes the files.
    public func close() {
        owner.submit { [self] in
            for handle in handles.values { try? handle.close() }
            handles.removeAll()
        }
        owner.stopAndWait()
    }

    /// Cuts a last line without its newline (a write cut short), so the next line starts clean.
    private static func dropTornLine(in handle: FileHandle) throws {
        let size = try handle.seekToEnd()
        guard size > 0 else { return }
        var end = size
        while end > 0 {
            let start = end > 4096 ? end - 4096 : 0
            try handle.seek(toOffset: start)
            let chunk = try handle.read(upToCount: Int(end - start)) ?? Data()
            if let newline = chunk.lastIndex(of: UInt8(ascii: "\n")) {
                let keep = start + UInt64(chunk.distance(from: chunk.startIndex, to: newline)) + 1
                if keep < size { try handle.truncate(atOffset: keep) }
                return
            }
            end = start
        }
        try handle.truncate(atOffset: 0)
    }

    /// The offset of the file's last whole line, read from its tail.
    private static func lastOffset(in handle: FileHandle) throws -> Int64? {
        let size = try handle.seekToEnd()
        guard size > 0 else { return nil }
        let start = size > 65_536 ? size - 65_536 : 0
        try handle.seek(toOffset: start)
        let tail = try handle.readToEnd() ?? Data()
        let lines = tail.split(separator: UInt8(ascii: "\n"))
        for line in lines.reversed() {
            if let entry = try? JournalEntry(line: Data(line)) { return entry.offset }
        }
        return nil
    }

    // MARK: Reading

    /// The entries of `topic` in `directory`, oldest first, that pass the filters. Lines that
    /// do not parse (a torn last line after a power loss) are skipped.
    public static func read(_ topic: Topic, in directory: URL, fromOffset: Int64? = nil, fromTime: Date? = nil,
                            key: String? = nil) throws -> [JournalEntry] {
        let data = try Data(contentsOf: file(of: topic, in: directory))
        return data.split(separator: UInt8(ascii: "\n")).compactMap { line in
            guard let entry = try? JournalEntry(line: Data(line)) else { return nil }
            if let fromOffset, entry.offset < fromOffset { return nil }
            if let fromTime, (entry.time ?? .distantPast) < fromTime { return nil }
            if let key, entry.key != key { return nil }
            return entry
        }
    }
}
