/// The LL-HLS delivery directives of a playlist request (RFC 8216bis §6.2.5): `_HLS_msn`,
/// `_HLS_part` and `_HLS_skip`; and a start-over's `start` (docs/DVR.md).
public struct PlaylistRequest: Sendable, Hashable {
    public var mediaSequence: Int?
    public var part: Int?
    public var skip: Bool
    /// Where a start-over playlist begins; nil: the live window.
    public var start: PlaybackStart?

    public init(mediaSequence: Int? = nil, part: Int? = nil, skip: Bool = false, start: PlaybackStart? = nil) {
        self.mediaSequence = mediaSequence
        self.part = part
        self.skip = skip
        self.start = start
    }

    /// Reads the directives from a query string; other parameters (tokens) are ignored.
    /// Throws for values that are not decimal numbers in 0…UInt32.max (`SegmentNumber`), for
    /// `_HLS_part` without `_HLS_msn` (§6.2.5.2) and for a `start` `PlaybackStart` cannot read.
    public init(query: Substring?) throws {
        self.init()
        for pair in (query ?? "").split(separator: "&") {
            let field = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let value = field.count == 2 ? field[1] : ""
            switch field[0] {
            case "_HLS_msn":
                guard let number = SegmentNumber(parsing: value) else { throw PackagerError.badDirective("_HLS_msn=\(value.prefix(32))") }
                mediaSequence = number.value
            case "_HLS_part":
                guard let number = SegmentNumber(parsing: value) else { throw PackagerError.badDirective("_HLS_part=\(value.prefix(32))") }
                part = number.value
            case "_HLS_skip":
                skip = value == "YES" || value == "v2"
            case "start":
                guard let parsed = PlaybackStart(parsing: value) else { throw PackagerError.badDirective("start=\(value.prefix(32))") }
                start = parsed
            default:
                continue
            }
        }
        if part != nil, mediaSequence == nil { throw PackagerError.badDirective("_HLS_part without _HLS_msn") }
    }

    public var blocks: Bool { mediaSequence != nil }

    /// Whether the directives are ones a query could carry (0…UInt32.max); values made in code
    /// can be anything.
    var numbersAreInRange: Bool {
        (mediaSequence.map(SegmentNumber.isInRange) ?? true) && (part.map(SegmentNumber.isInRange) ?? true)
    }
}

/// Why a packaged resource could not be served.
public enum PackagerError: Error, Hashable, Sendable {
    case badDirective(String)
}
