import Foundation
import Logging
import ServiceLifecycle
import State

/// Where a node keeps its metadata (channels, API keys, settings, the asset index, webhook
/// deliveries): the cluster's PostgreSQL with `--database`, else one SQLite file in the data dir
/// (`sluice serve`'s embedded default; deliveries then stay in memory).
struct MetadataStores {
    var channels: any ChannelStore
    var keys: any APIKeyStore
    var serverSettings: any ServerSettingsStore
    var webhookSettings: any WebhookSettingsStore
    var webhookDeliveries: any WebhookDeliveryStore
    var assetIndex: any AssetIndex
    /// PostgreSQL's connection pool; list it first in the `ServiceGroup` so it closes last.
    var service: (any Service)?

    static func open(_ settings: ServeSettings, logger: Logger) async throws -> MetadataStores {
        let stores: MetadataStores
        if let location = settings.database {
            stores = try await postgres(location, logger: logger)
        } else {
            stores = try await sqlite(in: settings.dataDirectory)
        }
        try Node.restrictToOwner(settings.dataDirectory, files: ["sluice.sqlite", "sluice.sqlite-wal", "sluice.sqlite-shm"])
        return stores
    }

    private static func postgres(_ location: PostgresLocation, logger: Logger) async throws -> MetadataStores {
        logger.info("metadata in PostgreSQL", metadata: ["database": "\(location)"])
        let storage = try await PostgresStorage.open(location, logger: logger)
        do {
            return MetadataStores(channels: PostgresChannelStore(storage: storage), keys: PostgresAPIKeyStore(storage: storage),
                                  serverSettings: try await PostgresSettingsStore(storage: storage),
                                  webhookSettings: try await PostgresWebhookSettingsStore(storage: storage),
                                  webhookDeliveries: PostgresWebhookDeliveryStore(storage: storage),
                                  assetIndex: PostgresAssetIndex(storage: storage), service: storage)
        } catch {
            await storage.close()
            throw error
        }
    }

    /// One SQLite file in `folder`; webhook deliveries in memory.
    static func sqlite(in folder: URL) async throws -> MetadataStores {
        let database = try SQLiteDatabase(path: folder.appendingPathComponent("sluice.sqlite").path)
        return MetadataStores(channels: SQLiteChannelStore(database: database), keys: SQLiteAPIKeyStore(database: database),
                              serverSettings: try await SQLiteSettingsStore(database: database),
                              webhookSettings: try await SQLiteWebhookSettingsStore(database: database),
                              webhookDeliveries: WebhookDeliveryLog(), assetIndex: SQLiteAssetIndex(database: database))
    }
}
