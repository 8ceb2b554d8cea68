import Foundation

/// One line of the audit trail, as the single-machine journal stores it and `sluice replay`
/// prints it (from the journal, or from Kafka with the record's partition):
/// `{"event":{envelope},"key":"…","offset":N}` or
/// `{"event":{envelope},"key":"…","offset":N,"partition":P}`.
///
/// Fields are written in sorted order, as `EventCodec` writes the envelope inside. Before this
/// type, lines were glued from strings as `{"offset":…,"key":…,"event":…}` (replay from Kafka
/// put `partition` first); readers parse JSON and both orders read the same, so journals written
/// before still replay.
public struct JournalEntry: Codable, Sendable, Equatable {
    /// The Kafka partition the record came from; nil in the single-machine journal.
    public var partition: Int?
    /// Per topic (per partition with Kafka), counting from 0.
    public var offset: Int64
    /// The record key: the stream or channel the event is about.
    public var key: String
    /// The event's envelope (`EventEnvelope`, as `EventCodec` encoded it), kept as a JSON tree so
    /// any event type passes through unchanged.
    public var event: JSONTree

    public init(partition: Int? = nil, offset: Int64, key: String, event: JSONTree) {
        self.partition = partition
        self.offset = offset
        self.key = key
        self.event = event
    }

    /// - Parameter envelope: an envelope as `EventCodec` encodes it.
    /// - Throws: `DecodingError` when `envelope` is not JSON.
    public init(partition: Int? = nil, offset: Int64, key: String, envelope: Data) throws {
        self.init(partition: partition, offset: offset, key: key, event: try JSONDecoder().decode(JSONTree.self, from: envelope))
    }

    /// Reads one line (without its newline).
    public init(line: Data) throws {
        self = try JSONDecoder().decode(JournalEntry.self, from: line)
    }

    /// The line, without its newline.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
    }

    /// The line as text, without its newline.
    public var line: String { (try? encoded()).map { String(decoding: $0, as: UTF8.self) } ?? "" }

    /// When the event happened: the envelope's `time`; nil if it has none that parses.
    public var time: Date? {
        guard case .object(let fields) = event, case .string(let text)? = fields["time"] else { return nil }
        return try? Date(text, strategy: .iso8601)
    }
}

/// A JSON document as a tree that encodes back to the bytes it was read from, when those were
/// written by `JSONEncoder` with sorted keys (as `EventCodec` writes): integers stay exact
/// (session IDs use all 64 bits), other numbers are `Double`.
public enum JSONTree: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case unsigned(UInt64)
    case double(Double)
    case string(String)
    case array([JSONTree])
    case object([String: JSONTree])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(UInt64.self) {
            self = .unsigned(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONTree].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONTree].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .unsigned(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}
