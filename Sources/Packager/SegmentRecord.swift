import Foundation
import NIOCore

/// One segment of the timeline, for every output at once: its CMAF parts per track, its
/// MPEG-TS bytes, and when each track finished it.
struct SegmentRecord: Sendable {
    let mediaSequence: Int
    let tracks: TrackSet
    /// The first segment after a republish or re-initialisation.
    let discontinuity: Bool
    /// Discontinuities strictly before this segment, for `EXT-X-DISCONTINUITY-SEQUENCE`.
    let discontinuitiesBefore: Int
    /// When the session's first frame arrived, and its dts (ms): anchors DASH's wall clock.
    let sessionAnchor: SessionAnchor
    var parts: [TrackKind: [PartRecord]] = [:]
    /// Decode time of the segment's first sample, per track, in the track's timescale.
    var startTime: [TrackKind: UInt64] = [:]
    private(set) var finished: Set<TrackKind> = []
    /// The whole segment per track: its parts back to back, made once it is finished.
    private(set) var cmaf: [TrackKind: ByteBuffer] = [:]
    var ts = ByteBuffer()

    init(mediaSequence: Int, tracks: TrackSet, discontinuity: Bool, discontinuitiesBefore: Int, sessionAnchor: SessionAnchor) {
        self.mediaSequence = mediaSequence
        self.tracks = tracks
        self.discontinuity = discontinuity
        self.discontinuitiesBefore = discontinuitiesBefore
        self.sessionAnchor = sessionAnchor
    }

    var kinds: [TrackKind] { TrackKind.allCases.filter { tracks.track($0) != nil } }
    var isComplete: Bool { kinds.allSatisfy(finished.contains) }
    func isFinished(_ kind: TrackKind) -> Bool { finished.contains(kind) }

    /// Seconds of `kind`'s media in the segment.
    func duration(_ kind: TrackKind) -> Double { parts[kind, default: []].reduce(0) { $0 + $1.duration } }

    /// `kind`'s media in the segment, in its timescale.
    func ticks(_ kind: TrackKind) -> UInt64 { parts[kind, default: []].reduce(0) { $0 + $1.ticks } }

    /// The duration playlists list: the video's when there is video.
    var duration: Double { duration(kinds.first ?? .video) }

    /// Bytes the segment keeps in memory: MPEG-TS, CMAF parts and whole CMAF segments.
    var heldBytes: Int {
        ts.readableBytes + parts.values.joined().reduce(0) { $0 + $1.bytes.readableBytes }
            + cmaf.values.reduce(0) { $0 + $1.readableBytes }
    }

    /// The finished segment of `kind`, its parts back to back.
    func cmafBytes(_ kind: TrackKind) -> ByteBuffer? { cmaf[kind] }

    mutating func add(_ part: PartRecord, of kind: TrackKind) {
        parts[kind, default: []].append(part)
    }

    /// `kind` has no more parts in this segment.
    mutating func finish(_ kind: TrackKind) {
        guard !finished.contains(kind) else { return }
        finished.insert(kind)
        var whole = ByteBuffer()
        for part in parts[kind, default: []] { whole.writeImmutableBuffer(part.bytes) }
        cmaf[kind] = whole
    }
}

/// Relates one session's media time to the wall clock: its first frame's dts and arrival.
struct SessionAnchor: Sendable, Hashable {
    var arrival: Date
    /// Milliseconds.
    var dts: Int64
}
