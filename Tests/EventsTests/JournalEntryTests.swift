import Foundation
import Testing
@testable import Events

/// The audit line `EventJournal` writes and `sluice replay` prints: the envelope passes through
/// byte for byte, fields in sorted order, and lines in the older order still read.
@Suite struct JournalEntryTests {
    static let online = LifecycleEvent.online(StreamOnline(streamID: StreamID("cam1")!, sessionID: UInt64.max - 7, node: "n1",
                                                           client: "127.0.0.1:5000", protocolName: "rtmp"))

    func envelope() throws -> Data {
        try EventCodec().encode(Self.online, id: UUID(uuidString: "00000000-0000-0000-0000-000000000001")!,
                                time: Date(timeIntervalSince1970: 1_800_000_000), source: "n1/a\"b")
    }

    @Test func theEnvelopeIsCarriedByteForByteInSortedFields() throws {
        let envelope = try envelope()
        let text = String(decoding: envelope, as: UTF8.self)
        let journal = try JournalEntry(offset: 41, key: "cam1", envelope: envelope)
        #expect(journal.line == #"{"event":"# + text + #","key":"cam1","offset":41}"#)
        let kafka = try JournalEntry(partition: 3, offset: 41, key: "cam/1", envelope: envelope)
        #expect(kafka.line == #"{"event":"# + text + #","key":"cam\/1","offset":41,"partition":3}"#)
        #expect(journal.time == Date(timeIntervalSince1970: 1_800_000_000))
    }

    @Test func linesReadBackAsWrittenAndTheEventDecodes() throws {
        let entry = try JournalEntry(partition: 0, offset: 7, key: "cam1", envelope: try envelope())
        let read = try JournalEntry(line: try entry.encoded())
        #expect(read == entry)
        let event = try JSONEncoder().encode(read.event)
        #expect(try EventCodec().decodeLifecycle(event).event == Self.online)
    }

    @Test func linesInTheOlderFieldOrderStillRead() throws {
        let text = String(decoding: try envelope(), as: UTF8.self)
        let older = try JournalEntry(line: Data((#"{"offset":2,"key":"cam1","event":"# + text + "}").utf8))
        #expect(older.offset == 2 && older.key == "cam1" && older.partition == nil)
        #expect(older.time == Date(timeIntervalSince1970: 1_800_000_000))
        #expect(older.line == #"{"event":"# + text + #","key":"cam1","offset":2}"#)
    }

    @Test func numbersKeepTheirExactValue() throws {
        let json = Data(#"{"big":18446744073709551615,"negative":-9223372036854775808,"ratio":0.25,"whole":3,"flag":true,"none":null,"list":[1,"a"]}"#.utf8)
        let tree = try JSONDecoder().decode(JSONTree.self, from: json)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        #expect(String(decoding: try encoder.encode(tree), as: UTF8.self)
            == #"{"big":18446744073709551615,"flag":true,"list":[1,"a"],"negative":-9223372036854775808,"none":null,"ratio":0.25,"whole":3}"#)
        #expect(throws: (any Error).self) { try JournalEntry(offset: 0, key: "k", envelope: Data("not json".utf8)) }
    }
}
