import Events
import Foundation
import GRDB

/// Channels in a SQLite file under the data directory (`sluice serve`). Each channel is one row:
/// indexed columns for lookups and listing, the settings as a JSON document, the secret apart.
/// GRDB serializes writes, so concurrent requests cannot lose each other's updates.
public final class SQLiteChannelStore: ChannelStore {
    private let database: DatabaseQueue

    public init(database: SQLiteDatabase) {
        self.database = database.queue
    }

    /// A store in its own database at `path` (`nil`: in memory).
    public convenience init(path: String?) throws {
        self.init(database: try SQLiteDatabase(path: path))
    }

    public func create(_ channel: StreamChannel, pushSecret: String) async throws -> StreamChannel {
        try Self.validate(channel)
        var channel = channel
        channel.createdAt = Self.stored(channel.createdAt)
        channel.updatedAt = Self.stored(channel.updatedAt)
        return try await write { [channel] db in
            let id = channel.id.description
            guard try Row.fetchOne(db, sql: "SELECT 1 FROM channel WHERE id = ?", arguments: [id]) == nil else {
                throw StateError(.conflict, "channel \(id) exists")
            }
            let sequence = (try Int.fetchOne(db, sql: "SELECT MAX(sequence) FROM channel") ?? 0) + 1
            try db.execute(sql: """
                INSERT INTO channel (id, sequence, name, revision, document, pushSecret) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [id, sequence, channel.name, channel.revision, try Self.encode(channel), pushSecret])
            return channel
        }
    }

    public func channel(_ id: ChannelID) async throws -> StreamChannel? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT document FROM channel WHERE id = ?", arguments: [Self.key(id)])
                .map(Self.decode)
        }
    }

    public func pushSecret(of id: ChannelID) async throws -> String? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT pushSecret FROM channel WHERE id = ?", arguments: [Self.key(id)])
        }
    }

    public func list(nameContains: String?, limit: Int, after: String?) async throws -> ChannelPage {
        let limit = max(1, min(limit, 500))
        let start = Int(after ?? "0") ?? 0
        return try await read { db in
            var sql = "SELECT sequence, document FROM channel WHERE sequence > ?"
            var arguments: StatementArguments = [start]
            if let nameContains, !nameContains.isEmpty {
                sql += " AND instr(lower(name), lower(?)) > 0"
                arguments += [nameContains]
            }
            sql += " ORDER BY sequence LIMIT ?"
            arguments += [limit + 1]
            let rows = try Row.fetchAll(db, sql: sql, arguments: arguments)
            let channels = try rows.prefix(limit).map { try Self.decode($0["document"]) }
            let next = rows.count > limit ? String(rows[limit - 1]["sequence"] as Int) : nil
            return ChannelPage(channels: channels, next: next)
        }
    }

    public func update(_ channel: StreamChannel, ifRevision: Int?) async throws -> StreamChannel {
        try Self.validate(channel)
        return try await write { db in
            let current = try Self.current(channel.id, db: db, ifRevision: ifRevision)
            var updated = channel
            updated.createdAt = current.createdAt
            updated.revision = current.revision + 1
            updated.updatedAt = Self.stored(Date())
            try db.execute(sql: "UPDATE channel SET name = ?, revision = ?, document = ? WHERE id = ?",
                           arguments: [updated.name, updated.revision, try Self.encode(updated), Self.key(channel.id)])
            return updated
        }
    }

    public func rotatePushSecret(of id: ChannelID, to secret: String) async throws -> StreamChannel {
        try await write { db in
            var channel = try Self.current(id, db: db, ifRevision: nil)
            channel.revision += 1
            channel.updatedAt = Self.stored(Date())
            try db.execute(sql: "UPDATE channel SET revision = ?, document = ?, pushSecret = ? WHERE id = ?",
                           arguments: [channel.revision, try Self.encode(channel), secret, Self.key(id)])
            return channel
        }
    }

    public func delete(_ id: ChannelID, ifRevision: Int?) async throws {
        try await write { db in
            _ = try Self.current(id, db: db, ifRevision: ifRevision)
            try db.execute(sql: "DELETE FROM channel WHERE id = ?", arguments: [Self.key(id)])
        }
    }

    public func watermarkImage(of id: ChannelID) async throws -> WatermarkImage? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT bytes FROM watermarkImage WHERE channelID = ?", arguments: [Self.key(id)])
                .flatMap { row in WatermarkImage(bytes: [UInt8](row["bytes"] as Data)) }
        }
    }

    public func setWatermarkImage(_ image: WatermarkImage?, of id: ChannelID) async throws -> StreamChannel {
        try await write { db in
            var channel = try Self.current(id, db: db, ifRevision: nil)
            if let image {
                try db.execute(sql: "INSERT OR REPLACE INTO watermarkImage (channelID, contentType, bytes) VALUES (?, ?, ?)",
                               arguments: [Self.key(id), image.contentType, Data(image.bytes)])
            } else {
                try db.execute(sql: "DELETE FROM watermarkImage WHERE channelID = ?", arguments: [Self.key(id)])
            }
            channel.revision += 1
            channel.updatedAt = Self.stored(Date())
            try db.execute(sql: "UPDATE channel SET revision = ?, document = ? WHERE id = ?",
                           arguments: [channel.revision, try Self.encode(channel), Self.key(id)])
            return channel
        }
    }

    // MARK: Helpers

    private static func current(_ id: ChannelID, db: Database, ifRevision: Int?) throws -> StreamChannel {
        guard let document = try String.fetchOne(db, sql: "SELECT document FROM channel WHERE id = ?",
                                                 arguments: [key(id)]) else {
            throw StateError(.notFound, "channel \(key(id))")
        }
        let channel = try decode(document)
        if let ifRevision, ifRevision != channel.revision {
            throw StateError(.staleRevision, "channel \(key(id)) is at revision \(channel.revision), not \(ifRevision)")
        }
        return channel
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await database.read(body)
        } catch let error as StateError {
            throw error
        } catch {
            throw StateError(.storage, "\(error)")
        }
    }

    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await database.write(body)
        } catch let error as StateError {
            throw error
        } catch {
            throw StateError(.storage, "\(error)")
        }
    }

    private static func key(_ id: ChannelID) -> String { id.description }
    private static func validate(_ channel: StreamChannel) throws { try ChannelDocument.validate(channel) }
    private static func stored(_ date: Date) -> Date { ChannelDocument.stored(date) }
    private static func encode(_ channel: StreamChannel) throws -> String { try ChannelDocument.encode(channel) }
    private static func decode(_ document: String) throws -> StreamChannel { try ChannelDocument.decode(document) }
}
