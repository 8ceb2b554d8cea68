import Events
import Foundation
import Logging
import State
import Testing
@testable import Sluice

/// Without `--database` a node's metadata lives in one SQLite file in its data dir, readable by
/// its owner only.
@Suite(.timeLimit(.minutes(1))) struct MetadataStoresTests {
    static func mode(_ path: String) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test func withoutADatabaseMetadataIsSQLiteInTheDataDir() async throws {
        let folder = try TestNode.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.path)
        let settings = try TestNode.settings(Set(Role.allCases), [], folder: folder)
        let stores = try await MetadataStores.open(settings, logger: Logger(label: "test"))
        #expect(stores.channels is SQLiteChannelStore && stores.keys is SQLiteAPIKeyStore && stores.assetIndex is SQLiteAssetIndex)
        #expect(stores.webhookDeliveries is WebhookDeliveryLog)
        #expect(stores.service == nil)
        #expect(try Self.mode(folder.path) == 0o700)
        #expect(try Self.mode(folder.appendingPathComponent("sluice.sqlite").path) == 0o600)
    }

    /// What one run stores the next run reads: the stores are the file, not memory.
    @Test func channelsOutliveTheStores() async throws {
        let folder = try TestNode.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let settings = try TestNode.settings(Set(Role.allCases), [], folder: folder)
        let made = try await MetadataStores.open(settings, logger: Logger(label: "test")).channels
            .create(StreamChannel(name: "Kept"), pushSecret: "secret")
        let reopened = try await MetadataStores.open(settings, logger: Logger(label: "test"))
        #expect(try await reopened.channels.channel(made.id)?.name == "Kept")
    }
}
