import Foundation

/// What a playlist needs to list a finished segment that may no longer be in memory: names,
/// numbers, dates and durations, never bytes (those stay in the asset store, `DVRArchive`).
/// Made from the timeline's own segments as they finish and from the archive's index, alike.
struct DVREntry: Sendable, Hashable {
    /// The session component of its resources' names (`TrackSet.name`).
    var session: String
    var sequence: Int
    /// Unix ms of its first frame (`EXT-X-PROGRAM-DATE-TIME`).
    var programDate: Int64
    /// Seconds the classic playlist lists (the video's when there is video).
    var duration: Double
    /// The writer's discontinuity sequence number.
    var discontinuitySequence: Int
    /// Its tracks, each with its seconds, its first sample's decode time and its length in the
    /// track's timescale (LL-HLS lists a track's own duration; DASH its times).
    var tracks: [TrackKind: TrackTimes]
    /// The number of its epoch's first segment (DASH counts `$Number$` from there).
    var periodFirstSegment: Int

    struct TrackTimes: Sendable, Hashable {
        var duration: Double
        var startTime: UInt64?
        var ticks: UInt64
    }

    /// Unix ms just past its end.
    var endDate: Int64 { programDate + Int64((duration * 1000).rounded()) }

    /// The 16 hex digits of the publish session (an epoch's `-n` dropped).
    var publishSession: Substring { session.prefix(16) }
}

extension DVREntry {
    /// A finished segment of the timeline.
    init(_ record: SegmentRecord) {
        var tracks: [TrackKind: TrackTimes] = [:]
        for kind in record.kinds {
            tracks[kind] = TrackTimes(duration: record.duration(kind), startTime: record.startTime[kind], ticks: record.ticks(kind))
        }
        self.init(session: record.tracks.name, sequence: record.mediaSequence, programDate: record.programDate,
                  duration: record.duration, discontinuitySequence: record.discontinuitySequence, tracks: tracks,
                  periodFirstSegment: record.periodFirstSegment)
    }
}

/// The finished segments of one stream's DVR window, oldest first, numbers following on without
/// gaps: those the timeline made (noted as they finish) and those read from the archive (made
/// by another node, or before this one started reading). Holds only their descriptions, a few
/// hundred bytes a segment, never media.
///
/// The window is counted back from the newest segment's program date, never from a clock, so
/// every node holding the same newest segment lists the same ones.
struct DVRListing: Sendable {
    /// The window, ms.
    let window: Int64
    private(set) var entries: [DVREntry] = []

    init(windowSeconds: Double) {
        window = Int64(min(max(windowSeconds, 0), Double(PlaybackStart.maxSeconds)) * 1000)
    }

    var newest: DVREntry? { entries.last }
    var oldest: DVREntry? { entries.first }

    /// Whether segment `sequence` is listed.
    func lists(_ sequence: Int) -> Bool {
        guard let oldest, let newest else { return false }
        return (oldest.sequence...newest.sequence).contains(sequence)
    }

    /// The entry of segment `sequence`, if listed.
    func entry(_ sequence: Int) -> DVREntry? {
        // Numbers are never negative, so the difference cannot overflow once `sequence` is listed.
        lists(sequence) ? entries[sequence - entries[0].sequence] : nil
    }

    /// Adds segments the timeline finished: they replace what the archive said of the same numbers.
    mutating func note(_ made: some Sequence<DVREntry>) {
        merge(made, replacing: true)
    }

    /// Adds segments read from the archive, where the listing has none of those numbers.
    mutating func fill(_ archived: some Sequence<DVREntry>) {
        merge(archived, replacing: false)
    }

    private mutating func merge(_ more: some Sequence<DVREntry>, replacing: Bool) {
        // The usual case, a segment the timeline just finished: appended, the oldest trimmed.
        let sorted = more.sorted { $0.sequence < $1.sequence }
        if let newest, let first = sorted.first, first.sequence == newest.sequence + 1,
           zip(sorted, sorted.dropFirst()).allSatisfy({ $0.sequence + 1 == $1.sequence }) {
            entries += sorted
            let latest = sorted[sorted.count - 1].programDate
            let stale = entries.prefix { latest - $0.programDate > window + Self.margin }.count
            if stale > 0 { entries.removeFirst(stale) }
            return
        }
        var byNumber = Dictionary(entries.map { ($0.sequence, $0) }, uniquingKeysWith: { first, _ in first })
        var changed = false
        for entry in sorted where replacing || byNumber[entry.sequence] == nil {
            if byNumber[entry.sequence] != entry { changed = true }
            byNumber[entry.sequence] = entry
        }
        guard changed else { return }
        entries = Self.run(endingAtNewestOf: byNumber, window: window + Self.margin)
    }

    /// Kept past the window, so a blocking request answered late (its playlist ends before the
    /// newest segment) still lists the window as it stood then. Ms.
    static let margin: Int64 = 60_000

    /// The entries within the window counted back from the last one of `entries`.
    func windowed(_ entries: some Collection<DVREntry>) -> ArraySlice<DVREntry> {
        let all = Array(entries)[...]
        guard let newest = all.last else { return all }
        return all.drop { newest.programDate - $0.programDate > window }
    }

    /// The newest entry and those before it whose numbers follow on without a gap and that start
    /// within `window` of its program date.
    private static func run(endingAtNewestOf byNumber: [Int: DVREntry], window: Int64) -> [DVREntry] {
        guard let newest = byNumber.keys.max().flatMap({ byNumber[$0] }) else { return [] }
        var run = [newest]
        var number = newest.sequence
        while number > 0, let previous = byNumber[number - 1], newest.programDate - previous.programDate <= window {
            run.append(previous)
            number -= 1
        }
        return run.reversed()
    }

    /// Whether the archive may have what the listing lacks: it does not reach back past
    /// `sequence` (the oldest segment the timeline made) and does not span the window yet.
    func lacksArchive(before sequence: Int) -> Bool {
        guard let oldest, let newest else { return true }
        return oldest.sequence >= sequence && newest.programDate - oldest.programDate < window
    }
}
