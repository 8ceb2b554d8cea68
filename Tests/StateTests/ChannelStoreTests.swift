import Events
import Foundation
import State
import Testing
import TestSupport

/// The `ChannelStore` contract, checked on both implementations: SQLite (in memory) and Redis (a
/// real `redis-server` on a free loopback port per test).
@Suite struct ChannelStoreTests {
    enum Kind: String, CaseIterable, Sendable {
        case sqlite, redis
    }

    /// A store of `kind`, kept alive (with its server) by the returned handle.
    final class Harness: @unchecked Sendable {
        let store: any ChannelStore
        private let server: RedisServer?

        init(_ kind: Kind) throws {
            switch kind {
            case .sqlite:
                store = try SQLiteChannelStore(path: nil)
                server = nil
            case .redis:
                let server = try RedisServer()
                store = RedisChannelStore(redis: RedisClient(host: "127.0.0.1", port: server.port))
                self.server = server
            }
        }

        /// Another client of the same data (a new process, or another node).
        func reopened() -> (any ChannelStore)? {
            server.map { RedisChannelStore(redis: RedisClient(host: "127.0.0.1", port: $0.port)) }
        }

        deinit { server?.stop() }
    }

    @Test(arguments: Kind.allCases) func createsReadsAndKeepsTheSecretApart(_ kind: Kind) async throws {
        let harness = try Harness(kind)
        let store = harness.store
        let created = try await store.create(StreamChannel(name: "Lobby"), pushSecret: "s1")
        #expect(try await store.channel(created.id) == created)
        #expect(try await store.pushSecret(of: created.id) == "s1")
        await #expect(throws: StateError.self) { try await store.create(created, pushSecret: "s2") }
        await #expect(throws: StateError.self) { try await store.create(StreamChannel(name: ""), pushSecret: "s") }
        #expect(try await store.channel(ChannelID()) == nil)
    }

    @Test(arguments: Kind.allCases) func listsInPagesAndFiltersByName(_ kind: Kind) async throws {
        let harness = try Harness(kind)
        let store = harness.store
        for index in 0..<5 { _ = try await store.create(StreamChannel(name: "cam \(index)"), pushSecret: "s") }
        _ = try await store.create(StreamChannel(name: "Studio"), pushSecret: "s")
        let first = try await store.list(nameContains: nil, limit: 4, after: nil)
        #expect(first.channels.map(\.name) == ["cam 0", "cam 1", "cam 2", "cam 3"])
        let second = try await store.list(nameContains: nil, limit: 4, after: first.next)
        #expect(second.channels.map(\.name) == ["cam 4", "Studio"])
        #expect(second.next == nil)
        #expect(try await store.list(nameContains: "STUD", limit: 10, after: nil).channels.map(\.name) == ["Studio"])
    }

    @Test(arguments: Kind.allCases) func updatesBumpTheRevisionAndStaleWritesFail(_ kind: Kind) async throws {
        let harness = try Harness(kind)
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
    }

    @Test(arguments: Kind.allCases) func concurrentWritesAreNotLost(_ kind: Kind) async throws {
        let harness = try Harness(kind)
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
    }

    @Test func aRedisStoreIsSharedByItsClients() async throws {
        let harness = try Harness(.redis)
        let created = try await harness.store.create(StreamChannel(name: "shared"), pushSecret: "s")
        let other = try #require(harness.reopened())
        #expect(try await other.channel(created.id) == created)
        #expect(try await other.list(nameContains: "SHA", limit: 5, after: nil).channels == [created])
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
        let harness = try ChannelStoreTests.Harness(kind)
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
    }
}
