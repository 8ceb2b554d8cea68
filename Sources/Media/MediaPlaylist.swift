/// An HLS media playlist (RFC 8216bis §4.4.3–4.4.5), for classic and low-latency HLS.
/// `render()` writes tags in the order the RFC shows them; it validates nothing the caller
/// could not get right by construction.
public struct MediaPlaylist: Sendable, Hashable {
    /// A partial segment (`EXT-X-PART`, §4.4.4.9).
    public struct Part: Sendable, Hashable {
        public var uri: String
        /// Seconds.
        public var duration: Double
        /// Starts with an independent frame (a keyframe).
        public var isIndependent: Bool

        public init(uri: String, duration: Double, isIndependent: Bool) {
            self.uri = uri
            self.duration = duration
            self.isIndependent = isIndependent
        }
    }

    public struct Segment: Sendable, Hashable {
        public var uri: String
        /// Seconds (`EXTINF`).
        public var duration: Double
        /// `EXT-X-DISCONTINUITY` before this segment (a republish).
        public var discontinuity: Bool
        /// The initialization section (`EXT-X-MAP`) written before this segment when it differs
        /// from the previous segment's.
        public var map: String?
        /// The parts of this segment, listed before it; empty for segments far from the live edge.
        public var parts: [Part]
        /// Unix ms of the segment's first sample (`EXT-X-PROGRAM-DATE-TIME`, §4.4.4.6).
        public var programDate: Int64?

        public init(uri: String, duration: Double, discontinuity: Bool = false, map: String? = nil, parts: [Part] = [],
                    programDate: Int64? = nil) {
            self.uri = uri
            self.duration = duration
            self.discontinuity = discontinuity
            self.map = map
            self.parts = parts
            self.programDate = programDate
        }
    }

    /// `EXT-X-SERVER-CONTROL` (§4.4.3.8).
    public struct ServerControl: Sendable, Hashable {
        public var canBlockReload: Bool
        /// Seconds.
        public var partHoldBack: Double?
        /// Seconds; delta updates may skip segments older than this from the end.
        public var canSkipUntil: Double?

        public init(canBlockReload: Bool, partHoldBack: Double? = nil, canSkipUntil: Double? = nil) {
            self.canBlockReload = canBlockReload
            self.partHoldBack = partHoldBack
            self.canSkipUntil = canSkipUntil
        }
    }

    /// `EXT-X-RENDITION-REPORT` (§4.4.5.4).
    public struct RenditionReport: Sendable, Hashable {
        public var uri: String
        public var lastMediaSequence: Int
        public var lastPart: Int?

        public init(uri: String, lastMediaSequence: Int, lastPart: Int?) {
            self.uri = uri
            self.lastMediaSequence = lastMediaSequence
            self.lastPart = lastPart
        }

        /// The tag as a playlist line.
        public var line: String {
            var line = "#EXT-X-RENDITION-REPORT:URI=\"\(uri)\",LAST-MSN=\(lastMediaSequence)"
            if let lastPart { line += ",LAST-PART=\(lastPart)" }
            return line
        }
    }

    public var version: Int
    /// Seconds, an integer no segment's rounded duration exceeds (§4.4.3.1).
    public var targetDuration: Int
    public var mediaSequence: Int
    public var discontinuitySequence: Int
    public var serverControl: ServerControl?
    /// `EXT-X-PART-INF:PART-TARGET`, seconds.
    public var partTarget: Double?
    /// Segments replaced by `EXT-X-SKIP` in a delta update (§4.4.5.2).
    public var skippedSegments: Int
    public var segments: [Segment]
    /// Parts of the segment still being written, after the last complete segment.
    public var pendingParts: [Part]
    /// `EXT-X-DISCONTINUITY` and `EXT-X-MAP` before the pending parts, when the segment being
    /// written starts a new timeline or is the first one listed.
    public var pendingDiscontinuity = false
    public var pendingMap: String?
    /// Unix ms of the pending parts' segment (`EXT-X-PROGRAM-DATE-TIME` before its parts).
    public var pendingProgramDate: Int64?
    /// `EXT-X-PRELOAD-HINT:TYPE=PART` (§4.4.5.3).
    public var preloadHint: String?
    public var renditionReports: [RenditionReport]
    public var endList: Bool
    /// `EXT-X-PLAYLIST-TYPE` (§4.4.3.5): `EVENT` (only ever appended to) or `VOD`; nil for a
    /// live sliding window.
    public var playlistType: String?
    /// `EXT-X-START:TIME-OFFSET=…,PRECISE=YES` (§4.4.2.2): seconds from the start of the first
    /// listed segment where playback should begin (a start-over playlist); nil: none.
    public var startOffset: Double?

    public init(version: Int, targetDuration: Int, mediaSequence: Int, discontinuitySequence: Int = 0,
                serverControl: ServerControl? = nil, partTarget: Double? = nil, skippedSegments: Int = 0,
                segments: [Segment], pendingParts: [Part] = [], preloadHint: String? = nil,
                renditionReports: [RenditionReport] = [], endList: Bool = false) {
        self.version = version
        self.targetDuration = targetDuration
        self.mediaSequence = mediaSequence
        self.discontinuitySequence = discontinuitySequence
        self.serverControl = serverControl
        self.partTarget = partTarget
        self.skippedSegments = skippedSegments
        self.segments = segments
        self.pendingParts = pendingParts
        self.preloadHint = preloadHint
        self.renditionReports = renditionReports
        self.endList = endList
    }

    public func render() -> String {
        var lines = ["#EXTM3U", "#EXT-X-VERSION:\(version)", "#EXT-X-TARGETDURATION:\(targetDuration)"]
        if let serverControl { lines.append(Self.render(serverControl)) }
        if let partTarget { lines.append("#EXT-X-PART-INF:PART-TARGET=\(PlaylistNumber.fixed(partTarget, places: 3))") }
        if let playlistType { lines.append("#EXT-X-PLAYLIST-TYPE:\(playlistType)") }
        if let startOffset { lines.append("#EXT-X-START:TIME-OFFSET=\(PlaylistNumber.fixed(startOffset, places: 3)),PRECISE=YES") }
        lines.append("#EXT-X-MEDIA-SEQUENCE:\(mediaSequence)")
        if discontinuitySequence > 0 { lines.append("#EXT-X-DISCONTINUITY-SEQUENCE:\(discontinuitySequence)") }
        if skippedSegments > 0 { lines.append("#EXT-X-SKIP:SKIPPED-SEGMENTS=\(skippedSegments)") }
        for segment in segments {
            if segment.discontinuity { lines.append("#EXT-X-DISCONTINUITY") }
            if let map = segment.map { lines.append("#EXT-X-MAP:URI=\"\(map)\"") }
            if let date = segment.programDate { lines.append("#EXT-X-PROGRAM-DATE-TIME:\(UTCDate.string(unixMilliseconds: date))") }
            lines += segment.parts.map(Self.render)
            lines.append("#EXTINF:\(PlaylistNumber.fixed(segment.duration, places: 3)),")
            lines.append(segment.uri)
        }
        if pendingDiscontinuity { lines.append("#EXT-X-DISCONTINUITY") }
        if let map = pendingMap { lines.append("#EXT-X-MAP:URI=\"\(map)\"") }
        if let date = pendingProgramDate { lines.append("#EXT-X-PROGRAM-DATE-TIME:\(UTCDate.string(unixMilliseconds: date))") }
        lines += pendingParts.map(Self.render)
        if let preloadHint { lines.append("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"\(preloadHint)\"") }
        lines += renditionReports.map(\.line)
        if endList { lines.append("#EXT-X-ENDLIST") }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func render(_ part: Part) -> String {
        "#EXT-X-PART:DURATION=\(PlaylistNumber.fixed(part.duration, places: 3)),URI=\"\(part.uri)\""
            + (part.isIndependent ? ",INDEPENDENT=YES" : "")
    }

    private static func render(_ control: ServerControl) -> String {
        var attributes: [String] = []
        if control.canBlockReload { attributes.append("CAN-BLOCK-RELOAD=YES") }
        if let skip = control.canSkipUntil { attributes.append("CAN-SKIP-UNTIL=\(PlaylistNumber.short(skip))") }
        if let holdBack = control.partHoldBack { attributes.append("PART-HOLD-BACK=\(PlaylistNumber.short(holdBack))") }
        return "#EXT-X-SERVER-CONTROL:" + attributes.joined(separator: ",")
    }
}
