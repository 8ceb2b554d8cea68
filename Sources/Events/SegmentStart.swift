/// Where a frame that opens a segment (`MediaFrame.Flags.segmentStart`) landed, told by the bus
/// once it holds the frame: a packager that joins the stream late starts reading at one of these,
/// so its first playlist lists whole segments at once.
public struct SegmentStart: Sendable, Hashable {
    /// The record key: the stream id.
    public var stream: String
    public var session: UInt64
    /// Empty for the source (`sluice.media.source`); a rendition's name (`sluice.media.renditions`).
    public var rendition: String
    /// The frame's offset in the stream's partition of its topic.
    public var offset: Int64

    public init(stream: String, session: UInt64, rendition: String, offset: Int64) {
        self.stream = stream
        self.session = session
        self.rendition = rendition
        self.offset = offset
    }

    /// The segment start `frame` is, published under `key` to `topic` at `offset`; nil for frames
    /// that open no segment and for topics other than the media topics.
    public init?(_ frame: MediaFrame, key: String, topic: Topic, offset: Int64) {
        guard frame.startsSegment, topic == .mediaSource || topic == .mediaRenditions else { return nil }
        self.init(stream: key, session: frame.sessionID, rendition: topic == .mediaSource ? "" : frame.rendition, offset: offset)
    }
}
