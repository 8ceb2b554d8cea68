import Media
import NIOCore

/// A finished part of one track: the CMAF chunk bytes and what the playlist says about it.
struct PartRecord: Sendable {
    var index: Int
    /// Seconds.
    var duration: Double
    /// The same in the track's timescale.
    var ticks: UInt64
    var isIndependent: Bool
    /// `moof` + `mdat`; empty when CMAF output is off.
    var bytes: ByteBuffer
}

/// One track's progress through the timeline's parts: the samples of the part being filled,
/// the track's decode clock, and its place (segment number, part index).
struct TrackLane: Sendable {
    let kind: TrackKind
    let track: CMAFTrack
    private(set) var mediaSequence: Int
    private(set) var partIndex = 0
    private var samples: [FMP4Sample] = []
    private var baseTime: UInt64?
    /// Where the next sample starts, in the track's timescale.
    private var clock: UInt64?
    private let writesCMAF: Bool

    init(kind: TrackKind, track: CMAFTrack, mediaSequence: Int, writesCMAF: Bool) {
        self.kind = kind
        self.track = track
        self.mediaSequence = mediaSequence
        self.writesCMAF = writesCMAF
    }

    var isEmpty: Bool { samples.isEmpty }
    /// Payload bytes of the samples waiting for the part to close.
    var pendingBytes: Int { samples.reduce(0) { $0 + $1.data.readableBytes } }
    var firstSampleIsSync: Bool { samples.first?.isSync ?? false }

    /// Decode time of the part being filled (or of the next sample), in the track's timescale.
    var partStartTime: UInt64 { baseTime ?? clock ?? 0 }

    /// Adds a sample decoded at `dts` milliseconds (a `MediaClock` time). Video follows its
    /// timestamps (sample durations are their differences). Audio sits on a grid of whole AAC
    /// frames counted from media time 0, so frames stay exactly 1024 samples apart and a node
    /// that started reading later lands on the same sample times; a frame whose timestamp
    /// jitters back onto an earlier slot follows the previous one instead.
    mutating func add(_ sample: FMP4Sample, dts: Int64) {
        let ideal = UInt64(milliseconds: dts, timescale: track.timescale)
        let time: UInt64
        if kind == .audio, sample.duration > 0 {
            let frame = UInt64(sample.duration)
            time = max((ideal + frame / 2) / frame * frame, clock ?? 0)
        } else if let expected = clock, expected.distance(to: ideal).magnitude <= 2 * UInt64(max(sample.duration, 1)) {
            time = expected
        } else {
            time = ideal
        }
        baseTime = baseTime ?? time
        clock = time + UInt64(sample.duration)
        samples.append(sample)
    }

    /// Moves to the next segment without closing a part (the current one is empty).
    mutating func moveToNextSegment() {
        move(toSegment: mediaSequence + 1)
    }

    /// Moves to segment `number` (numbering jumped: a failover gap); samples waiting for a part
    /// go into that segment's first.
    mutating func move(toSegment number: Int) {
        mediaSequence = number
        partIndex = 0
    }

    /// Closes the part being filled; `endsSegment` moves the lane to the next segment.
    mutating func closePart(endsSegment: Bool) -> PartRecord {
        let duration = samples.reduce(0) { $0 + UInt64($1.duration) }
        var bytes = ByteBuffer()
        if writesCMAF {
            // From the part's name, not from how many this node wrote: every node numbers alike.
            let fragmentSequence = UInt32(truncatingIfNeeded: mediaSequence) &* 64 &+ UInt32(truncatingIfNeeded: partIndex) &+ 1
            bytes = FMP4Fragment.write(sequenceNumber: fragmentSequence, trackID: track.trackID,
                                       baseDecodeTime: partStartTime, samples: samples)
        }
        let record = PartRecord(index: partIndex, duration: Double(duration) / Double(track.timescale), ticks: duration,
                                isIndependent: kind == .audio || firstSampleIsSync, bytes: bytes)
        samples.removeAll(keepingCapacity: true)
        baseTime = nil
        if endsSegment {
            mediaSequence += 1
            partIndex = 0
        } else {
            partIndex += 1
        }
        return record
    }
}
