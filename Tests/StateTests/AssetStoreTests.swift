import Events
import Foundation
import State
import Testing

@Suite struct AssetIndexTests {
    let stream = StreamID("cam1")!
    let day = Date(timeIntervalSince1970: 1_800_000_000)

    private func asset(_ kind: Asset.Kind, stream: StreamID? = nil, channel: String = "ch1", minute: Double) -> Asset {
        let start = day.addingTimeInterval(minute * 60)
        return Asset(kind: kind, channelID: channel, streamID: stream ?? self.stream, sessionID: 0xABCD, start: start, duration: 0,
                     size: 10, location: Asset.location(channel: channel, kind: kind, day: start, file: "\(minute).jpg"),
                     contentType: "image/jpeg", createdAt: start)
    }

    /// An index of `kind` and, for PostgreSQL, its server.
    static func make(_ kind: ChannelStoreTests.Kind) async throws -> (any AssetIndex, PostgresTestDatabase?) {
        switch kind {
        case .sqlite:
            return (SQLiteAssetIndex(database: try SQLiteDatabase(path: nil)), nil)
        case .postgres:
            let database = try await PostgresTestDatabase.start()
            return (PostgresAssetIndex(storage: database.storage), database)
        }
    }

    @Test(arguments: ChannelStoreTests.Kind.allCases) func listsNewestFirstFilteredAndInPages(_ kind: ChannelStoreTests.Kind) async throws {
        let (index, database) = try await Self.make(kind)
        defer { Task { await database?.shutDown() } }
        let snapshots = (0..<5).map { asset(.snapshot, minute: Double($0)) }
        for item in snapshots { try await index.add(item) }
        try await index.add(snapshots[0])  // listed once however often it is added
        try await index.add(asset(.mp4, minute: 10))
        try await index.add(asset(.snapshot, stream: StreamID("cam2")!, channel: "ch2", minute: 11))

        let first = try await index.list(AssetQuery(channelID: "ch1", kind: .snapshot, limit: 2))
        #expect(first.assets.map(\.id) == [snapshots[4].id, snapshots[3].id])
        let second = try await index.list(AssetQuery(channelID: "ch1", kind: .snapshot, limit: 2, after: first.next))
        #expect(second.assets.map(\.id) == [snapshots[2].id, snapshots[1].id])
        let last = try await index.list(AssetQuery(channelID: "ch1", kind: .snapshot, limit: 2, after: second.next))
        #expect(last.assets.map(\.id) == [snapshots[0].id] && last.next == nil)
        #expect(try await index.list(AssetQuery(streamID: "cam2")).assets.count == 1)
        let window = try await index.list(AssetQuery(from: day.addingTimeInterval(60), to: day.addingTimeInterval(180)))
        #expect(window.assets.map(\.id) == [snapshots[2].id, snapshots[1].id])
        #expect(try await index.latest(.snapshot, of: stream)?.id == snapshots[4].id)
        #expect(try await index.latest(.mp4, of: StreamID("cam2")!) == nil)
        #expect(try await index.asset(snapshots[3].id) == snapshots[3])
        #expect(try await index.remove(snapshots[3].id) == snapshots[3])
        #expect(try await index.remove(snapshots[3].id) == nil)
        let old = try await index.created(before: day.addingTimeInterval(150), channelID: "ch1", limit: 10)
        #expect(old.map(\.id) == [snapshots[0].id, snapshots[1].id, snapshots[2].id])
    }

    @Test(arguments: ChannelStoreTests.Kind.allCases) func recordingsGrowAndAreFoundBySession(_ kind: ChannelStoreTests.Kind) async throws {
        let (index, database) = try await Self.make(kind)
        defer { Task { await database?.shutDown() } }
        var playlist = Asset(kind: .vodPlaylist, channelID: "ch1", streamID: stream, sessionID: UInt64.max - 1, start: day,
                             duration: 4, size: 100, location: "ch1/vod-playlist/a.m3u8", contentType: "application/vnd.apple.mpegurl",
                             createdAt: day)
        try await index.add(playlist)
        playlist.duration = 8.5
        playlist.size = 5_000_000_000
        playlist.location = "ch1/vod-playlist/b.m3u8"
        try await index.update(playlist)
        #expect(try await index.asset(.vodPlaylist, session: UInt64.max - 1) == playlist, "64-bit session ids round-trip")
        #expect(try await index.asset(.vodPlaylist, session: 7) == nil)
        #expect(try await index.asset(.mp4, session: UInt64.max - 1) == nil)
        #expect(try await index.list(AssetQuery(after: "not a cursor")).assets == [playlist])
    }

    @Test func locationsAreLaidOutByChannelKindAndDay() {
        let location = Asset.location(channel: "ch1", kind: .vodPlaylist, day: Date(timeIntervalSince1970: 1_764_633_600), file: "a.m3u8")
        #expect(location == "ch1/vod-playlist/2025/12/02/a.m3u8")
    }

    @Test func assetsShowSessionsAsHex() throws {
        let encoded = String(decoding: try JSONEncoder().encode(asset(.snapshot, minute: 0)), as: UTF8.self)
        #expect(encoded.contains(#""sessionId":"000000000000abcd""#))
        #expect(try JSONDecoder().decode(Asset.self, from: Data(encoded.utf8)).sessionID == 0xABCD)
    }
}

@Suite struct FilesystemAssetStoreTests {
    @Test func filesArriveWholeAndLeaveNoPartsBehind() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-assets-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let store = FilesystemAssetStore(root: root)
        let bytes = Data((0..<100_000).map { UInt8($0 % 251) })
        try await store.put(bytes, at: "ch1/snapshot/2026/11/30/a.jpg", contentType: "image/jpeg")
        try await store.put(bytes.prefix(10), at: "ch1/snapshot/2026/11/30/a.jpg", contentType: "image/jpeg")
        #expect(try await store.get("ch1/snapshot/2026/11/30/a.jpg") == bytes.prefix(10), "a second put replaces the first")
        let folder = root.appendingPathComponent("ch1/snapshot/2026/11/30")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["a.jpg"], "no partial files left")
        try await store.delete("ch1/snapshot/2026/11/30/a.jpg")
        #expect(try await store.get("ch1/snapshot/2026/11/30/a.jpg") == nil)
        try await store.delete("ch1/snapshot/2026/11/30/a.jpg")
        for bad in ["../escape.jpg", "/etc/passwd", "ch1//a.jpg", "ch1/.hidden", ""] {
            await #expect(throws: StateError.self, "\(bad)") { try await store.put(bytes, at: bad, contentType: "image/jpeg") }
        }
    }
}
