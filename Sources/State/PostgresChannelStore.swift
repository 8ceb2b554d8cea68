import Events
import Foundation
import PostgresNIO

/// Channels in the cluster's PostgreSQL database: the same contract as `SQLiteChannelStore`.
/// One row per channel (indexed columns for lookups and listing, the settings as a JSON
/// document, the secret apart). Every write reads the row `FOR UPDATE` in its transaction and
/// checks the revision, so writers on any node cannot lose each other's updates.
public final class PostgresChannelStore: ChannelStore {
    private let storage: PostgresStorage

    public init(storage: PostgresStorage) {
        self.storage = storage
    }

    public func create(_ channel: StreamChannel, pushSecret: String) async throws -> StreamChannel {
        try ChannelDocument.validate(channel)
        var channel = channel
        channel.createdAt = ChannelDocument.stored(channel.createdAt)
        channel.updatedAt = ChannelDocument.stored(channel.updatedAt)
        let document = try ChannelDocument.encode(channel)
        let id = channel.id.description
        let inserted = try await storage.rows("create channel", """
            INSERT INTO channels (id, name, revision, document, push_secret)
            VALUES (\(id), \(channel.name), \(channel.revision), \(document), \(pushSecret))
            ON CONFLICT (id) DO NOTHING RETURNING id
            """)
        guard !inserted.isEmpty else { throw StateError(.conflict, "channel \(id) exists") }
        return channel
    }

    public func channel(_ id: ChannelID) async throws -> StreamChannel? {
        try await storage.rows("read channel", "SELECT document FROM channels WHERE id = \(id.description)") { row in
            try ChannelDocument.decode(row.decode(String.self))
        }.first
    }

    public func pushSecret(of id: ChannelID) async throws -> String? {
        try await storage.rows("read push secret", "SELECT push_secret FROM channels WHERE id = \(id.description)") { row in
            try row.decode(String.self)
        }.first
    }

    public func list(nameContains: String?, limit: Int, after: String?) async throws -> ChannelPage {
        let limit = max(1, min(limit, 500))
        let start = after.flatMap { Int64($0) } ?? 0
        let filter = nameContains ?? ""
        let decoded = try await storage.rows("list channels", """
            SELECT sequence, document FROM channels
            WHERE sequence > \(start) AND (\(filter) = '' OR strpos(lower(name), lower(\(filter))) > 0)
            ORDER BY sequence LIMIT \(limit + 1)
            """) { row in
            let (sequence, document) = try row.decode((Int64, String).self)
            return (sequence: sequence, channel: try ChannelDocument.decode(document))
        }
        let next = decoded.count > limit ? String(decoded[limit - 1].sequence) : nil
        return ChannelPage(channels: decoded.prefix(limit).map { $0.channel }, next: next)
    }

    public func update(_ channel: StreamChannel, ifRevision: Int?) async throws -> StreamChannel {
        try ChannelDocument.validate(channel)
        return try await storage.transaction("update channel") { connection in
            let current = try await Self.current(channel.id, connection, ifRevision: ifRevision)
            var updated = channel
            updated.createdAt = current.createdAt
            updated.revision = current.revision + 1
            updated.updatedAt = ChannelDocument.stored(Date())
            try await Self.write(updated, connection, name: updated.name)
            return updated
        }
    }

    public func rotatePushSecret(of id: ChannelID, to secret: String) async throws -> StreamChannel {
        try await storage.transaction("rotate push secret") { connection in
            var channel = try await Self.current(id, connection, ifRevision: nil)
            channel.revision += 1
            channel.updatedAt = ChannelDocument.stored(Date())
            try await Self.write(channel, connection)
            try await connection.query("UPDATE channels SET push_secret = \(secret) WHERE id = \(id.description)",
                                       logger: connection.logger)
            return channel
        }
    }

    public func delete(_ id: ChannelID, ifRevision: Int?) async throws {
        try await storage.transaction("delete channel") { connection in
            _ = try await Self.current(id, connection, ifRevision: ifRevision)
            try await connection.query("DELETE FROM channels WHERE id = \(id.description)", logger: connection.logger)
        }
    }

    public func watermarkImage(of id: ChannelID) async throws -> WatermarkImage? {
        try await storage.rows("read watermark image", "SELECT bytes FROM watermark_images WHERE channel_id = \(id.description)") { row in
            WatermarkImage(bytes: [UInt8](try row.decode(Data.self)))
        }.first ?? nil
    }

    public func setWatermarkImage(_ image: WatermarkImage?, of id: ChannelID) async throws -> StreamChannel {
        try await storage.transaction("set watermark image") { connection in
            var channel = try await Self.current(id, connection, ifRevision: nil)
            if let image {
                try await connection.query("""
                    INSERT INTO watermark_images (channel_id, content_type, bytes)
                    VALUES (\(id.description), \(image.contentType), \(Data(image.bytes)))
                    ON CONFLICT (channel_id) DO UPDATE SET content_type = EXCLUDED.content_type, bytes = EXCLUDED.bytes
                    """, logger: connection.logger)
            } else {
                try await connection.query("DELETE FROM watermark_images WHERE channel_id = \(id.description)",
                                           logger: connection.logger)
            }
            channel.revision += 1
            channel.updatedAt = ChannelDocument.stored(Date())
            try await Self.write(channel, connection)
            return channel
        }
    }

    // MARK: Helpers

    /// The stored channel, locked for this transaction; checks `ifRevision`.
    private static func current(_ id: ChannelID, _ connection: PostgresConnection, ifRevision: Int?) async throws -> StreamChannel {
        let rows = try await connection.query("SELECT document FROM channels WHERE id = \(id.description) FOR UPDATE",
                                              logger: connection.logger).collect()
        guard let row = rows.first else { throw StateError(.notFound, "channel \(id.description)") }
        let channel = try ChannelDocument.decode(try row.decode(String.self))
        if let ifRevision, ifRevision != channel.revision {
            throw StateError(.staleRevision, "channel \(id.description) is at revision \(channel.revision), not \(ifRevision)")
        }
        return channel
    }

    /// Stores the channel's document and revision (and its name, when it changed).
    private static func write(_ channel: StreamChannel, _ connection: PostgresConnection, name: String? = nil) async throws {
        let document = try ChannelDocument.encode(channel)
        let id = channel.id.description
        if let name {
            try await connection.query("""
                UPDATE channels SET name = \(name), revision = \(channel.revision), document = \(document) WHERE id = \(id)
                """, logger: connection.logger)
        } else {
            try await connection.query("UPDATE channels SET revision = \(channel.revision), document = \(document) WHERE id = \(id)",
                                       logger: connection.logger)
        }
    }
}
