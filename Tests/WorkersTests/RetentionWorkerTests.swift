import Events
import Foundation
import Logging
import State
import Testing
@testable import Workers

@Suite struct RetentionWorkerTests {
    @Test func assetsOlderThanTheirChannelsRetentionGoWithTheirFiles() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-retention-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let store = FilesystemAssetStore(root: root)
        let index = SQLiteAssetIndex(database: try SQLiteDatabase(path: nil))
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let channels = try SQLiteChannelStore(path: nil)
        var ids: [String: String] = [:]
        for (name, days) in [("week", 7), ("forever", 0)] {
            var record = StreamChannel.Record()
            record.retentionDays = days
            ids[name] = try await channels.create(StreamChannel(name: name, record: record), pushSecret: "secret").streamName
        }
        var made: [String: Asset] = [:]
        // Per channel: 2 days old, 10 days old and 400 days old.
        for (channel, id) in ids {
            for age in [2.0, 10, 400] {
                let created = now.addingTimeInterval(-age * 86_400)
                let asset = Asset(kind: .snapshot, channelID: id, streamID: StreamID(id)!, sessionID: 1, start: created,
                                  duration: 0, size: 3,
                                  location: Asset.location(channel: id, kind: .snapshot, day: created, file: "\(Int(age)).jpg"),
                                  contentType: "image/jpeg", createdAt: created)
                try await store.put(Data([1, 2, 3]), at: asset.location, contentType: asset.contentType)
                try await index.add(asset)
                made["\(channel)-\(Int(age))"] = asset
            }
        }
        let worker = RetentionWorker(index: index, store: store, channels: channels, logger: Logger(label: "test"))
        #expect(await worker.sweep(now: now) == 2)
        for (name, asset) in made {
            let kept = name == "week-2" || name.hasPrefix("forever")
            #expect((try await index.asset(asset.id) != nil) == kept, "\(name) listed")
            #expect((try await store.get(asset.location) != nil) == kept, "\(name) stored")
        }
        #expect(await worker.sweep(now: now) == 0, "nothing twice")
    }
}
