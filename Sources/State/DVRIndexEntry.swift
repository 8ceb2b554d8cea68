import Events
import Foundation

/// One archived DVR segment as the asset index lists it (table `dvrSegment` in SQLite,
/// `dvr_segments` in PostgreSQL; not an `Asset`: the assets API, the console and retention never
/// see them). The keys find and order it; `record` is the packager's description of the segment
/// (JSON, `DVRSegment` in Packager), opaque here and checked by whoever reads it.
public struct DVRIndexEntry: Sendable, Hashable {
    public var streamID: StreamID
    /// The packaged rendition: empty for what plays at the stream's own URLs.
    public var rendition: String
    /// The session component of its resources' names.
    public var session: String
    public var sequence: Int
    /// The number DASH names it by (`sequence` less its period's first segment).
    public var dashNumber: Int
    /// Unix ms of its first frame.
    public var programDate: Int64
    public var record: String

    public init(streamID: StreamID, rendition: String = "", session: String, sequence: Int, dashNumber: Int, programDate: Int64,
                record: String) {
        self.streamID = streamID
        self.rendition = rendition
        self.session = session
        self.sequence = sequence
        self.dashNumber = dashNumber
        self.programDate = programDate
        self.record = record
    }

    /// Most entries one listing returns: a 12-hour window of one-second segments, with room.
    public static let maxListing = 50_000
}
