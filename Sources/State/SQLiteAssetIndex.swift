import Events
import Foundation
import GRDB

/// The asset listing in the node's SQLite database: one row per asset, indexed for the
/// listing's filters, newest first, paged by a cursor.
public final class SQLiteAssetIndex: AssetIndex {
    private let database: DatabaseQueue

    public init(database: SQLiteDatabase) {
        self.database = database.queue
    }

    public func add(_ asset: Asset) async throws {
        try await write { db in
            try db.execute(sql: """
                INSERT OR IGNORE INTO asset (id, kind, channelID, streamID, sessionID, start, duration, size, location, contentType, createdAt)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [asset.id, asset.kind.rawValue, asset.channelID, asset.streamID.rawValue,
                                 Int64(bitPattern: asset.sessionID), asset.start.timeIntervalSince1970, asset.duration, asset.size,
                                 asset.location, asset.contentType, asset.createdAt.timeIntervalSince1970])
        }
    }

    public func asset(_ id: String) async throws -> Asset? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM asset WHERE id = ?", arguments: [id]).flatMap(Self.asset) }
    }

    public func update(_ asset: Asset) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE asset SET size = ?, duration = ?, location = ? WHERE id = ?",
                           arguments: [asset.size, asset.duration, asset.location, asset.id])
        }
    }

    public func asset(_ kind: Asset.Kind, session: UInt64) async throws -> Asset? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM asset WHERE kind = ? AND sessionID = ? ORDER BY rowid DESC LIMIT 1",
                             arguments: [kind.rawValue, Int64(bitPattern: session)]).flatMap(Self.asset)
        }
    }

    public func list(_ query: AssetQuery) async throws -> AssetPage {
        let limit = max(1, min(query.limit, 500))
        return try await read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let channel = query.channelID { conditions.append("channelID = ?"); arguments += [channel] }
            if let stream = query.streamID { conditions.append("streamID = ?"); arguments += [stream] }
            if let kind = query.kind { conditions.append("kind = ?"); arguments += [kind.rawValue] }
            if let from = query.from { conditions.append("start >= ?"); arguments += [from.timeIntervalSince1970] }
            if let to = query.to { conditions.append("start < ?"); arguments += [to.timeIntervalSince1970] }
            if let after = query.after.flatMap(Int64.init) { conditions.append("rowid < ?"); arguments += [after] }
            var sql = "SELECT rowid, * FROM asset"
            if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
            sql += " ORDER BY rowid DESC LIMIT ?"
            arguments += [limit + 1]
            let rows = try Row.fetchAll(db, sql: sql, arguments: arguments)
            let next = rows.count > limit ? String(rows[limit - 1]["rowid"] as Int64) : nil
            return AssetPage(assets: rows.prefix(limit).compactMap(Self.asset), next: next)
        }
    }

    public func latest(_ kind: Asset.Kind, of stream: StreamID) async throws -> Asset? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM asset WHERE streamID = ? AND kind = ? ORDER BY start DESC, rowid DESC LIMIT 1",
                             arguments: [stream.rawValue, kind.rawValue]).flatMap(Self.asset)
        }
    }

    public func remove(_ id: String) async throws -> Asset? {
        try await write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM asset WHERE id = ?", arguments: [id]) else { return nil }
            try db.execute(sql: "DELETE FROM asset WHERE id = ?", arguments: [id])
            return Self.asset(row)
        }
    }

    public func created(before date: Date, channelID: String, limit: Int) async throws -> [Asset] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM asset WHERE channelID = ? AND createdAt < ? ORDER BY createdAt LIMIT ?",
                             arguments: [channelID, date.timeIntervalSince1970, limit]).compactMap(Self.asset)
        }
    }

    /// A row as an asset; nil for a row this version cannot read (an unknown kind).
    private static func asset(_ row: Row) -> Asset? {
        guard let kind = Asset.Kind(rawValue: row["kind"]), let stream = StreamID(row["streamID"] as String) else { return nil }
        return Asset(id: row["id"], kind: kind, channelID: row["channelID"], streamID: stream,
                     sessionID: UInt64(bitPattern: row["sessionID"] as Int64), start: Date(timeIntervalSince1970: row["start"]),
                     duration: row["duration"], size: row["size"], location: row["location"], contentType: row["contentType"],
                     createdAt: Date(timeIntervalSince1970: row["createdAt"]))
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await database.read(body)
        } catch {
            throw StateError(.storage, "\(error)")
        }
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await database.write(body)
        } catch {
            throw StateError(.storage, "\(error)")
        }
    }
}
