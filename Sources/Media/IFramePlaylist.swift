/// An HLS I-frame playlist (RFC 8216 §4.3.3.6, `EXT-X-I-FRAMES-ONLY`): each entry one I-frame,
/// a byte range (§4.3.2.2) of the MPEG-TS segment that holds it. The ranges do not include the
/// segment's PAT and PMT (its Media Initialization Section): a client finds them from the start
/// of the resource to the offset of its first I-frame, as the RFC says, and the playlist names them
/// too (`EXT-X-MAP` with a `BYTERANGE`, §4.3.2.5), so clients that do not look there (ffmpeg's)
/// read each I-frame after its segment's tables.
public struct IFramePlaylist: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        public var uri: String
        /// Seconds from this I-frame to the next one in the playlist (or to the end of the last
        /// segment for the last entry).
        public var duration: Double
        /// Bytes of the I-frame's TS packets and where they start in `uri`.
        public var length: Int
        public var offset: Int
        /// `EXT-X-DISCONTINUITY` before it (a republish).
        public var discontinuity: Bool
        /// Unix ms of the segment's first sample (`EXT-X-PROGRAM-DATE-TIME`).
        public var programDate: Int64?
        /// Bytes of the segment's PAT and PMT at its start (`EXT-X-MAP`); 0: none named.
        public var tablesLength: Int

        public init(uri: String, duration: Double, length: Int, offset: Int, discontinuity: Bool = false,
                    programDate: Int64? = nil, tablesLength: Int = 0) {
            self.tablesLength = tablesLength
            self.uri = uri
            self.duration = duration
            self.length = length
            self.offset = offset
            self.discontinuity = discontinuity
            self.programDate = programDate
        }
    }

    /// `EXT-X-I-FRAMES-ONLY` needs version 4 (§4.3.3.6), `EXT-X-MAP` in an I-frame playlist 5 (§4.3.2.5).
    public static let version = 5

    public var targetDuration: Int
    public var mediaSequence: Int
    public var discontinuitySequence: Int
    public var entries: [Entry]
    public var endList: Bool

    public init(targetDuration: Int, mediaSequence: Int, discontinuitySequence: Int = 0, entries: [Entry], endList: Bool = false) {
        self.targetDuration = targetDuration
        self.mediaSequence = mediaSequence
        self.discontinuitySequence = discontinuitySequence
        self.entries = entries
        self.endList = endList
    }

    public func render() -> String {
        var lines = ["#EXTM3U", "#EXT-X-VERSION:\(Self.version)", "#EXT-X-TARGETDURATION:\(targetDuration)",
                     "#EXT-X-MEDIA-SEQUENCE:\(mediaSequence)"]
        if discontinuitySequence > 0 { lines.append("#EXT-X-DISCONTINUITY-SEQUENCE:\(discontinuitySequence)") }
        lines.append("#EXT-X-I-FRAMES-ONLY")
        var map: String?
        for entry in entries {
            if entry.discontinuity { lines.append("#EXT-X-DISCONTINUITY") }
            if entry.tablesLength > 0, map != entry.uri {
                lines.append("#EXT-X-MAP:URI=\"\(entry.uri)\",BYTERANGE=\"\(entry.tablesLength)@0\"")
                map = entry.uri
            }
            if let date = entry.programDate { lines.append("#EXT-X-PROGRAM-DATE-TIME:\(UTCDate.string(unixMilliseconds: date))") }
            lines.append("#EXTINF:\(PlaylistNumber.fixed(entry.duration, places: 3)),")
            lines.append("#EXT-X-BYTERANGE:\(entry.length)@\(entry.offset)")
            lines.append(entry.uri)
        }
        if endList { lines.append("#EXT-X-ENDLIST") }
        return lines.joined(separator: "\n") + "\n"
    }
}
