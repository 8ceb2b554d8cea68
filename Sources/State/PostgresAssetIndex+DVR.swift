import Events
import Foundation
import PostgresNIO

/// The DVR archive's rows (`DVRIndexEntry`) in table `dvr_segments`: the same contract as
/// `SQLiteAssetIndex`'s.
extension PostgresAssetIndex {
    private static let dvrColumns = "stream_id, rendition, session, sequence, dash_number, program_date, record"

    public func addDVRSegment(_ entry: DVRIndexEntry) async throws {
        _ = try await storage.rows("add dvr segment", """
            INSERT INTO dvr_segments (\(unescaped: Self.dvrColumns))
            VALUES (\(entry.streamID.rawValue), \(entry.rendition), \(entry.session), \(Int64(entry.sequence)),
                    \(Int64(entry.dashNumber)), \(entry.programDate), \(entry.record))
            ON CONFLICT (stream_id, rendition, session, sequence)
            DO UPDATE SET dash_number = EXCLUDED.dash_number, program_date = EXCLUDED.program_date, record = EXCLUDED.record
            """)
    }

    public func dvrSegments(of stream: StreamID, rendition: String, since: Int64, limit: Int) async throws -> [DVRIndexEntry] {
        try await dvrEntries("list dvr segments", """
            SELECT \(unescaped: Self.dvrColumns) FROM dvr_segments
            WHERE stream_id = \(stream.rawValue) AND rendition = \(rendition) AND program_date >= \(since)
            ORDER BY program_date, sequence LIMIT \(max(0, min(limit, DVRIndexEntry.maxListing)))
            """)
    }

    public func dvrSegment(of stream: StreamID, rendition: String, session: String, dashNumber: Int) async throws -> DVRIndexEntry? {
        try await dvrEntries("read dvr segment", """
            SELECT \(unescaped: Self.dvrColumns) FROM dvr_segments
            WHERE stream_id = \(stream.rawValue) AND rendition = \(rendition) AND session = \(session)
              AND dash_number = \(Int64(dashNumber))
            ORDER BY sequence DESC LIMIT 1
            """).first
    }

    public func removeDVRSegments(of stream: StreamID, before: Int64, limit: Int) async throws -> [DVRIndexEntry] {
        try await dvrEntries("remove dvr segments", """
            DELETE FROM dvr_segments WHERE (stream_id, rendition, session, sequence) IN (
                SELECT stream_id, rendition, session, sequence FROM dvr_segments
                WHERE stream_id = \(stream.rawValue) AND program_date < \(before)
                ORDER BY program_date, sequence LIMIT \(max(0, min(limit, DVRIndexEntry.maxListing))))
            RETURNING \(unescaped: Self.dvrColumns)
            """).sorted { ($0.programDate, $0.sequence) < ($1.programDate, $1.sequence) }
    }

    public func dvrSegmentCount(of stream: StreamID, rendition: String, session: String) async throws -> Int {
        try await storage.rows("count dvr segments", """
            SELECT COUNT(*) FROM dvr_segments WHERE stream_id = \(stream.rawValue) AND rendition = \(rendition) AND session = \(session)
            """) { row in Int(try row.decode(Int64.self)) }.first ?? 0
    }

    public func dvrStreams(limit: Int) async throws -> [StreamID] {
        try await storage.rows("list dvr streams", """
            SELECT DISTINCT stream_id FROM dvr_segments ORDER BY stream_id LIMIT \(max(0, limit))
            """) { row in try row.decode(String.self) }.compactMap(StreamID.init)
    }

    /// The rows as entries, leaving out those this version cannot read (a refused stream name,
    /// numbers past Int).
    private func dvrEntries(_ what: String, _ query: PostgresQuery) async throws -> [DVRIndexEntry] {
        try await storage.rows(what, query) { row -> DVRIndexEntry? in
            let (stream, rendition, session, sequence, dash, date, record) =
                try row.decode((String, String, String, Int64, Int64, Int64, String).self)
            guard let id = StreamID(stream), let sequence = Int(exactly: sequence), let dash = Int(exactly: dash) else { return nil }
            return DVRIndexEntry(streamID: id, rendition: rendition, session: session, sequence: sequence, dashNumber: dash,
                                 programDate: date, record: record)
        }.compactMap { $0 }
    }
}
