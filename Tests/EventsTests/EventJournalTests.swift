import Foundation
import NIOCore
import Testing
@testable import Events

/// The single-machine audit trail: control events on disk, offsets across restarts, filters.
@Suite struct EventJournalTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-journal-\(UUID().uuidString)")
    static let cam1 = StreamID("cam1")!
    static let cam2 = StreamID("cam2")!

    func online(_ stream: StreamID, session: UInt64) -> BusRecord {
        BusRecord(key: stream.rawValue, value: .lifecycle(.online(StreamOnline(streamID: stream, sessionID: session, node: "n1",
                                                                               client: "127.0.0.1:5000", protocolName: "rtmp"))))
    }

    @Test func controlEventsAreKeptAcrossRestartsAndFramesAreNot() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let bus = EmbeddedEventBus(journal: try EventJournal(directory: directory, source: "n1"))
        try bus.publish(online(Self.cam1, session: 1), to: .streamLifecycle)
        try bus.publish(BusRecord(key: "cam1", value: .frame(MediaFrame(kind: .audio, dts: 0, sessionID: 1, sequence: 0, payload: ByteBuffer(bytes: [1])))),
                        to: .mediaSource)
        try bus.publish(online(Self.cam2, session: 2), to: .streamLifecycle)
        await bus.shutdown()
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("sluice.media.source.jsonl").path))

        // A second process appends after what the first wrote.
        let again = EmbeddedEventBus(journal: try EventJournal(directory: directory, source: "n1"))
        try again.publish(online(Self.cam1, session: 3), to: .streamLifecycle)
        await again.shutdown()

        let all = try EventJournal.read(.streamLifecycle, in: directory)
        #expect(all.map(\.offset) == [0, 1, 2])
        #expect(all.map(\.key) == ["cam1", "cam2", "cam1"])
        let first = try #require(try JSONSerialization.jsonObject(with: Data(all[0].line.utf8)) as? [String: Any])
        let event = try #require(first["event"] as? [String: Any])
        #expect(event["type"] as? String == "stream.online" && event["source"] as? String == "n1")
        #expect(try EventCodec().decodeLifecycle(JSONSerialization.data(withJSONObject: event)).event
            == .online(StreamOnline(streamID: Self.cam1, sessionID: 1, node: "n1", client: "127.0.0.1:5000", protocolName: "rtmp")))

        #expect(try EventJournal.read(.streamLifecycle, in: directory, fromOffset: 1).map(\.offset) == [1, 2])
        #expect(try EventJournal.read(.streamLifecycle, in: directory, key: "cam1").map(\.offset) == [0, 2])
        #expect(try EventJournal.read(.streamLifecycle, in: directory, fromTime: Date().addingTimeInterval(60)).isEmpty)
        #expect(try EventJournal.read(.streamLifecycle, in: directory, fromTime: Date().addingTimeInterval(-60)).count == 3)
    }

    @Test func aTornLastLineIsSkippedAndNumberingGoesOn() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let bus = EmbeddedEventBus(journal: try EventJournal(directory: directory, source: "n1"))
        try bus.publish(online(Self.cam1, session: 1), to: .streamLifecycle)
        await bus.shutdown()
        let file = EventJournal.file(of: .streamLifecycle, in: directory)
        let handle = try FileHandle(forWritingTo: file)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"offset":1,"key":"cam1","event":{"type":"stream.onl"#.utf8))
        try handle.close()

        let again = EmbeddedEventBus(journal: try EventJournal(directory: directory, source: "n1"))
        try again.publish(online(Self.cam2, session: 2), to: .streamLifecycle)
        await again.shutdown()
        // The torn line is cut; the next event continues after the last whole one.
        let entries = try EventJournal.read(.streamLifecycle, in: directory)
        #expect(entries.map(\.key) == ["cam1", "cam2"])
        #expect(entries.map(\.offset) == [0, 1])
    }
}
