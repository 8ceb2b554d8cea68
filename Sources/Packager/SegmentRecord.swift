import Foundation
import NIOCore

/// One segment of the timeline, for every output at once: its CMAF parts per track, its
/// MPEG-TS bytes, and when each track finished it.
struct SegmentRecord: Sendable {
    let mediaSequence: Int
    let tracks: TrackSet
    /// Its discontinuity sequence differs from the segment before it here (a republish or a
    /// re-initialisation). Playlists never mark the first segment they list.
    let discontinuity: Bool
    /// The writer's discontinuity sequence number of this segment (`EXT-X-DISCONTINUITY-SEQUENCE`
    /// of a playlist that starts with it).
    let discontinuitySequence: Int
    /// Unix ms of media time 0 in its session (the writer's `MediaTimeline.origin`).
    let origin: Int64
    /// Media time (ms) where its epoch's first segment starts: where its DASH period starts.
    let periodMediaStart: Int64
    /// The number of its epoch's first segment: DASH numbers the period's segments from there.
    let periodFirstSegment: Int
    /// Unix ms its first frame was captured at (`EXT-X-PROGRAM-DATE-TIME`).
    let programDate: Int64
    var parts: [TrackKind: [PartRecord]] = [:]
    /// Decode time of the segment's first sample, per track, in the track's timescale.
    var startTime: [TrackKind: UInt64] = [:]
    private(set) var finished: Set<TrackKind> = []
    /// The whole segment per track: its parts back to back, made once it is finished.
    private(set) var cmaf: [TrackKind: ByteBuffer] = [:]
    var ts = ByteBuffer()

    init(mediaSequence: Int, tracks: TrackSet, discontinuity: Bool, discontinuitySequence: Int, origin: Int64,
         periodMediaStart: Int64, periodFirstSegment: Int, programDate: Int64) {
        self.mediaSequence = mediaSequence
        self.tracks = tracks
        self.discontinuity = discontinuity
        self.discontinuitySequence = discontinuitySequence
        self.origin = origin
        self.periodMediaStart = periodMediaStart
        self.periodFirstSegment = periodFirstSegment
        self.programDate = programDate
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
