import Events
import Foundation
import PostgresNIO

/// The asset listing in the cluster's PostgreSQL database: the same contract as
/// `SQLiteAssetIndex`. One row per asset, newest first by insertion (`position`), paged by a
/// cursor.
public final class PostgresAssetIndex: AssetIndex {
    let storage: PostgresStorage
    private static let columns = "id, kind, channel_id, stream_id, session_id, starts_at, duration, size, location, content_type, created_at"

    public init(storage: PostgresStorage) {
        self.storage = storage
    }

    public func add(_ asset: Asset) async throws {
        _ = try await storage.rows("add asset", """
            INSERT INTO assets (\(unescaped: Self.columns))
            VALUES (\(asset.id), \(asset.kind.rawValue), \(asset.channelID), \(asset.streamID.rawValue),
                    \(Int64(bitPattern: asset.sessionID)), \(asset.start.timeIntervalSince1970), \(asset.duration),
                    \(Int64(asset.size)), \(asset.location), \(asset.contentType), \(asset.createdAt.timeIntervalSince1970))
            ON CONFLICT (id) DO NOTHING
            """)
    }

    public func asset(_ id: String) async throws -> Asset? {
        try await assets("read asset", "SELECT \(unescaped: Self.columns) FROM assets WHERE id = \(id)").first
    }

    public func update(_ asset: Asset) async throws {
        _ = try await storage.rows("update asset", """
            UPDATE assets SET size = \(Int64(asset.size)), duration = \(asset.duration), location = \(asset.location)
            WHERE id = \(asset.id)
            """)
    }

    public func asset(_ kind: Asset.Kind, session: UInt64) async throws -> Asset? {
        try await assets("read session asset", """
            SELECT \(unescaped: Self.columns) FROM assets WHERE kind = \(kind.rawValue) AND session_id = \(Int64(bitPattern: session))
            ORDER BY position DESC LIMIT 1
            """).first
    }

    public func list(_ query: AssetQuery) async throws -> AssetPage {
        let limit = max(1, min(query.limit, 500))
        // Absent filters are NULL and match everything; `after` is the last position shown.
        let after = query.after.flatMap { Int64($0) }
        let rows = try await storage.rows("list assets", """
            SELECT position, \(unescaped: Self.columns) FROM assets
            WHERE (\(query.channelID)::text IS NULL OR channel_id = \(query.channelID))
              AND (\(query.streamID)::text IS NULL OR stream_id = \(query.streamID))
              AND (\(query.kind?.rawValue)::text IS NULL OR kind = \(query.kind?.rawValue))
              AND (\(query.from?.timeIntervalSince1970)::float8 IS NULL OR starts_at >= \(query.from?.timeIntervalSince1970))
              AND (\(query.to?.timeIntervalSince1970)::float8 IS NULL OR starts_at < \(query.to?.timeIntervalSince1970))
              AND (\(after)::int8 IS NULL OR position < \(after))
            ORDER BY position DESC LIMIT \(limit + 1)
            """) { row in
            (position: try row.decode(Int64.self), asset: try Self.asset(row, from: 1))
        }
        let next = rows.count > limit ? String(rows[limit - 1].position) : nil
        return AssetPage(assets: rows.prefix(limit).compactMap { $0.asset }, next: next)
    }

    public func latest(_ kind: Asset.Kind, of stream: StreamID) async throws -> Asset? {
        try await assets("read latest asset", """
            SELECT \(unescaped: Self.columns) FROM assets WHERE stream_id = \(stream.rawValue) AND kind = \(kind.rawValue)
            ORDER BY starts_at DESC, position DESC LIMIT 1
            """).first
    }

    public func remove(_ id: String) async throws -> Asset? {
        try await assets("remove asset", "DELETE FROM assets WHERE id = \(id) RETURNING \(unescaped: Self.columns)").first
    }

    public func created(before date: Date, channelID: String, limit: Int) async throws -> [Asset] {
        try await assets("list old assets", """
            SELECT \(unescaped: Self.columns) FROM assets WHERE channel_id = \(channelID) AND created_at < \(date.timeIntervalSince1970)
            ORDER BY created_at LIMIT \(max(0, limit))
            """)
    }

    /// The rows as assets, leaving out rows this version cannot read (an unknown kind).
    private func assets(_ what: String, _ query: PostgresQuery) async throws -> [Asset] {
        try await storage.rows(what, query) { try Self.asset($0, from: 0) }.compactMap { $0 }
    }

    /// The asset in `columns` order starting at column `first`; nil for an unknown kind or
    /// stream name, an error for a column of the wrong type.
    private static func asset(_ row: PostgresRow, from first: Int) throws -> Asset? {
        let cells = row.makeRandomAccess()
        let strings = try [0, 1, 2, 3, 8, 9].map { try cells[first + $0].decode(String.self) }
        let numbers = try [5, 6, 10].map { try cells[first + $0].decode(Double.self) }
        let session = try cells[first + 4].decode(Int64.self)
        guard let kind = Asset.Kind(rawValue: strings[1]), let stream = StreamID(strings[3]),
              let size = Int(exactly: try cells[first + 7].decode(Int64.self)) else { return nil }
        return Asset(id: strings[0], kind: kind, channelID: strings[2], streamID: stream, sessionID: UInt64(bitPattern: session),
                     start: Date(timeIntervalSince1970: numbers[0]), duration: numbers[1], size: size, location: strings[4],
                     contentType: strings[5], createdAt: Date(timeIntervalSince1970: numbers[2]))
    }
}
