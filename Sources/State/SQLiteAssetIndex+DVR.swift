import Events
import Foundation
import GRDB

/// The DVR archive's rows (`DVRIndexEntry`) in table `dvrSegment`.
extension SQLiteAssetIndex {
    public func addDVRSegment(_ entry: DVRIndexEntry) async throws {
        try await write { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO dvrSegment (streamID, rendition, session, sequence, dashNumber, programDate, record)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [entry.streamID.rawValue, entry.rendition, entry.session, entry.sequence, entry.dashNumber,
                                 entry.programDate, entry.record])
        }
    }

    public func dvrSegments(of stream: StreamID, rendition: String, since: Int64, limit: Int) async throws -> [DVRIndexEntry] {
        let limit = max(0, min(limit, DVRIndexEntry.maxListing))
        return try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM dvrSegment WHERE streamID = ? AND rendition = ? AND programDate >= ?
                ORDER BY programDate, sequence LIMIT ?
                """, arguments: [stream.rawValue, rendition, since, limit]).compactMap(Self.dvrEntry)
        }
    }

    public func dvrSegment(of stream: StreamID, rendition: String, session: String, dashNumber: Int) async throws -> DVRIndexEntry? {
        try await read { db in
            try Row.fetchOne(db, sql: """
                SELECT * FROM dvrSegment WHERE streamID = ? AND rendition = ? AND session = ? AND dashNumber = ?
                ORDER BY sequence DESC LIMIT 1
                """, arguments: [stream.rawValue, rendition, session, dashNumber]).flatMap(Self.dvrEntry)
        }
    }

    public func removeDVRSegments(of stream: StreamID, before: Int64, limit: Int) async throws -> [DVRIndexEntry] {
        let limit = max(0, min(limit, DVRIndexEntry.maxListing))
        return try await write { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT rowid, * FROM dvrSegment WHERE streamID = ? AND programDate < ? ORDER BY programDate, sequence LIMIT ?
                """, arguments: [stream.rawValue, before, limit])
            for row in rows {
                try db.execute(sql: "DELETE FROM dvrSegment WHERE rowid = ?", arguments: [row["rowid"] as Int64])
            }
            return rows.compactMap(Self.dvrEntry)
        }
    }

    public func dvrSegmentCount(of stream: StreamID, rendition: String, session: String) async throws -> Int {
        try await read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM dvrSegment WHERE streamID = ? AND rendition = ? AND session = ?",
                             arguments: [stream.rawValue, rendition, session]) ?? 0
        }
    }

    public func dvrStreams(limit: Int) async throws -> [StreamID] {
        try await read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT streamID FROM dvrSegment ORDER BY streamID LIMIT ?",
                                arguments: [max(0, limit)]).compactMap(StreamID.init)
        }
    }

    /// A row as an entry; nil for one this version cannot read (a stream name it refuses).
    private static func dvrEntry(_ row: Row) -> DVRIndexEntry? {
        guard let stream = StreamID(row["streamID"] as String) else { return nil }
        return DVRIndexEntry(streamID: stream, rendition: row["rendition"], session: row["session"], sequence: row["sequence"],
                             dashNumber: row["dashNumber"], programDate: row["programDate"], record: row["record"])
    }
}
