import Events
import Foundation
import State
import Testing
import TestSupport

/// The `ChannelStore` contract, checked on both implementations: SQLite (in memory) and
/// PostgreSQL (a real server on a free loopback port per test).
@Suite struct ChannelStoreTests {
    enum Kind: String, CaseIterable, Sendable {
        case sqlite, postgres
    }

    /// A store of `kind`, kept alive (with its server) by the returned handle.
    final class Harness: @unchecked Sendable {
        let store: any ChannelStore
        let database: PostgresTestDatabase?

        private init(store: any ChannelStore, database: PostgresTestDatabase?) {
            self.store = store
            self.database = database
        }

        static func make(_ kind: Kind) async throws -> Harness {
            switch kind {
            case .sqlite:
                return Harness(store: try SQLiteChannelStore(path: nil), database: nil)
            case .postgres:
                let database = try await PostgresTestDatabase.start()
                return Harness(store: PostgresChannelStore(storage: database.storage), database: database)
            }
        }

        /// Another client of the same data (another node).
        func reopened() async throws -> (any ChannelStore)? {
            guard let database else { return nil }
            return PostgresChannelStore(storage: try await database.open())
        }

        func shutDown() async { await database?.shutDown() }
    }

    @Test(arguments: Kind.allCases) func createsReadsAndKeepsTheSecretApart(_ kind: Kind) async throws {
        let harness = try await Harness.make(kind)
        let store = harness.store
        let created = try await store.create(StreamChannel(name: "Lobby"), pushSecret: "s1")
        #expect(try await store.channel(created.id) == created)
        #expect(try await store.pushSecret(of: created.id) == "s1")
        await #expect(throws: StateError.self) { try await store.create(created, pushSecret: "s2") }
        await #expect(throws: StateError.self) { try await store.create(StreamChannel(name: ""), pushSecret: "s") }
        #expect(try await store.channel(ChannelID()) == nil)
        await harness.shutDown()
    }

    @Test(arguments: Kind.allCases) func listsInPagesAndFiltersByName(_ kind: Kind) async throws {
        let harness = try await Harness.make(kind)
        let store = harness.store
        for index in 0..<5 { _ = try await store.create(StreamChannel(name: "cam \(index)"), pushSecret: "s") }
        _ = try await store.create(StreamChannel(name: "Studio"), pushSecret: "s")
        let first = try await store.list(nameContains: nil, limit: 4, after: nil)
        #expect(first.channels.map(\.name) == ["cam 0", "cam 1", "cam 2", "cam 3"])
        let second = try await store.list(nameContains: nil, limit: 4, after: first.next)
        #expect(second.channels.map(\.name) == ["cam 4", "Studio"])
        #expect(second.next == nil)
        #expect(try await store.list(nameContains: "STUD", limit: 10, after: nil).channels.map(\.name) == ["Studio"])
        await harness.shutDown()
    }

    @Test(arguments: Kind.allCases) func updatesBumpTheRevisionAndStaleWritesFail(_ kind: Kind) async throws {
        let harness = try await Harness.make(kind)
        let store = harness.store
        var channel = try await store.create(StreamChannel(name: "Lobby"), pushSecret: "s")
        channel.name = "Lobby (north)"
        let updated = try await store.update(channel, ifRevision: 1)
        #expect(updated.revision == 2 && updated.name == "Lobby (north)" && updated.createdAt == channel.createdAt)
        await #expect(throws: StateError(.staleRevision, "channel \(channel.streamName) is at revision 2, not 1")) {
            try await store.update(channel, ifRevision: 1)
        }
        let rotated = try await store.rotatePushSecret(of: channel.id, to: "s2")
        #expect(rotated.revision == 3)
        #expect(try await store.pushSecret(of: channel.id) == "s2")
        await #expect(throws: StateError.self) { try await store.delete(channel.id, ifRevision: 2) }
        try await store.delete(channel.id, ifRevision: 3)
        #expect(try await store.channel(channel.id) == nil)
        await #expect(throws: StateError.self) { try await store.delete(channel.id, ifRevision: nil) }
        await harness.shutDown()
    }

    @Test(arguments: Kind.allCases) func concurrentWritesAreNotLost(_ kind: Kind) async throws {
        let harness = try await Harness.make(kind)
        let store = harness.store
        let channel = try await store.create(StreamChannel(name: "busy"), pushSecret: "s")
        let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<20 {
                group.addTask {
                    var change = channel
                    change.description = "writer \(index)"
                    do {
                        _ = try await store.update(change, ifRevision: 1)
                        return true
                    } catch let error as StateError where error.code == .staleRevision {
                        return false
                    }
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(winners == 1)
        #expect(try await store.channel(channel.id)?.revision == 2)
        await harness.shutDown()
    }

    @Test func aPostgresStoreIsSharedByItsNodes() async throws {
        let harness = try await Harness.make(.postgres)
        let created = try await harness.store.create(StreamChannel(name: "shared"), pushSecret: "s")
        let other = try #require(try await harness.reopened())
        #expect(try await other.channel(created.id) == created)
        #expect(try await other.list(nameContains: "SHA", limit: 5, after: nil).channels == [created])
        var changed = created
        changed.description = "from the other node"
        _ = try await other.update(changed, ifRevision: 1)
        await #expect(throws: StateError.self) { try await harness.store.update(created, ifRevision: 1) }
        await harness.shutDown()
    }

    @Test func survivesReopening() async throws {
        let path = NSTemporaryDirectory() + "sluice-channels-\(UUID().uuidString).sqlite"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let created = try await SQLiteChannelStore(path: path).create(StreamChannel(name: "kept"), pushSecret: "s")
        let reopened = try SQLiteChannelStore(path: path)
        #expect(try await reopened.channel(created.id) == created)
    }
}

@Suite struct WatermarkImageStoreTests {
    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]

    @Test(arguments: ChannelStoreTests.Kind.allCases)
    func imagesAreStoredReplacedRemovedAndGoWithTheirChannel(_ kind: ChannelStoreTests.Kind) async throws {
        let harness = try await ChannelStoreTests.Harness.make(kind)
        let store = harness.store
        let channel = try await store.create(StreamChannel(name: "wm"), pushSecret: "s")
        #expect(try await store.watermarkImage(of: channel.id) == nil)
        let png = try #require(WatermarkImage(bytes: Self.png))
        #expect(png.contentType == "image/png")
        let updated = try await store.setWatermarkImage(png, of: channel.id)
        #expect(updated.revision == channel.revision + 1, "workers see the change as a new revision")
        #expect(try await store.watermarkImage(of: channel.id) == png)
        let jpeg = try #require(WatermarkImage(bytes: [0xFF, 0xD8, 0xFF, 0xE0, 9]))
        _ = try await store.setWatermarkImage(jpeg, of: channel.id)
        #expect(try await store.watermarkImage(of: channel.id)?.contentType == "image/jpeg")
        _ = try await store.setWatermarkImage(nil, of: channel.id)
        #expect(try await store.watermarkImage(of: channel.id) == nil)
        _ = try await store.setWatermarkImage(png, of: channel.id)
        try await store.delete(channel.id, ifRevision: nil)
        #expect(try await store.watermarkImage(of: channel.id) == nil)
        await #expect(throws: StateError.self) { try await store.setWatermarkImage(png, of: channel.id) }
        #expect(WatermarkImage(bytes: Array("GIF89a".utf8)) == nil)
        await harness.shutDown()
    }
}
