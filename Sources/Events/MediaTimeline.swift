/// Where a frame sits in its stream's packaging timeline, decided once by the frame's writer
/// (ingest for a source, the transcoder copies the source's into every rendition) and carried in
/// the frame's header. Every node that packages the stream therefore cuts the same segments, with
/// the same numbers, discontinuities and dates, whenever it started reading: a node that joined
/// late simply has a shorter past.
public struct MediaTimeline: Sendable, Hashable {
    /// Unix time, milliseconds, of media time 0 in this session: media time `t` was captured at
    /// `origin + t`. Fixed for the session (`EXT-X-PROGRAM-DATE-TIME`, DASH period starts).
    public var origin: Int64
    /// Media sequence number of the segment this frame belongs to. Counts up across the stream's
    /// sessions; a frame flagged `.segmentStart` opens it.
    public var segment: UInt32
    /// Discontinuities in the stream's history before this frame's segment
    /// (`EXT-X-DISCONTINUITY-SEQUENCE` of a playlist that starts with it).
    public var discontinuity: UInt32
    /// Re-initialisations of the tracks within the session (a codec or picture size change), from
    /// 0: it names the session's initialization segments.
    public var epoch: UInt16
    /// Media time (ms) where the epoch's first segment starts: with `origin`, where a DASH period
    /// of it starts. 0 until that segment has begun.
    public var periodStart: Int64
    /// The number of the epoch's first segment: DASH numbers a period's segments from it.
    public var periodFirstSegment: UInt32

    public init(origin: Int64, segment: UInt32, discontinuity: UInt32, epoch: UInt16 = 0, periodStart: Int64 = 0,
                periodFirstSegment: UInt32 = 0) {
        self.origin = origin
        self.segment = segment
        self.discontinuity = discontinuity
        self.epoch = epoch
        self.periodStart = periodStart
        self.periodFirstSegment = periodFirstSegment
    }

    /// Origins a frame may carry: the Unix epoch to about the year 2527, so `origin + t` for any
    /// frame time (`MediaFrame.timeRange`) stays far from overflow.
    public static let originRange: ClosedRange<Int64> = 0...(1 << 44)
}
