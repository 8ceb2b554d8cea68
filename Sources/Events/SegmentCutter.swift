import Foundation
import Media
import NIOCore

/// Decides where a stream's segments begin, once, for everyone who packages it: the writer of
/// a track (ingest for a source; a packager for frames nobody stamped) runs every frame through
/// it and stamps the result into the frame's header (`MediaFrame.timeline`, `.segmentStart`).
///
/// The rule: the track that decides cuts (video when the session has H.264 or HEVC, else audio)
/// starts a segment at its first random-access frame at least `segmentMilliseconds` after the
/// segment began, less half a frame (millisecond timestamps jitter); a segment that has taken in
/// `maxSegmentBytes`, or whose deciding track's time stood still for `maxStalledFrames` frames,
/// ends at the next frame whatever it is. A re-initialisation (new decoder configuration) ends
/// the segment, bumps the epoch and counts a discontinuity; so does a new session.
///
/// Numbers are derived from the session's start, so they need no shared counter: a session's
/// first segment is numbered from the wall clock (a quarter second since 2026-01-01 per number,
/// more than any stream cuts — segments are at least a quarter second long), and its
/// discontinuity sequence from the same clock at a tenth of a second. A republish therefore
/// continues above the previous session's numbers, on any ingest node whose clock is in step.
public struct SegmentCutter: Sendable {
    public struct Rules: Sendable, Hashable {
        public var segmentMilliseconds: Int64
        public var maxSegmentBytes: Int
        public var maxStalledFrames: Int

        /// What a frame costs against `maxSegmentBytes` beyond its payload.
        public static let frameOverhead = 256

        public init(segmentSeconds: Double = 2, maxSegmentBytes: Int = 16 << 20, maxStalledFrames: Int = 300) {
            // Bounded where it enters: a channel's setting is 0.5…60 s, anything else is clamped.
            let seconds = segmentSeconds.isFinite ? min(max(segmentSeconds, 0.5), 3600) : 2
            segmentMilliseconds = Int64(seconds * 1000)
            self.maxSegmentBytes = min(max(maxSegmentBytes, 1 << 16), 1 << 40)
            self.maxStalledFrames = max(2, maxStalledFrames)
        }
    }

    /// Where a stream's numbering goes on from its previous session (ingest notes it in session
    /// state): the first segment number and discontinuity sequence of the next session.
    public struct Continuation: Sendable, Hashable {
        public var segment: UInt32
        public var discontinuity: UInt32

        public init(segment: UInt32, discontinuity: UInt32) {
            self.segment = segment
            self.discontinuity = discontinuity
        }
    }

    /// Unix milliseconds of 2026-01-01T00:00:00Z: where session numbering counts from.
    static let numberingEpoch: Int64 = 1_767_225_600_000

    public let rules: Rules
    /// Number sessions from the wall clock (writers of record), or from 0 (a packager cutting
    /// frames nobody stamped: tests and files, on one node).
    private let numbersFromClock: Bool
    /// Numbers the first session takes instead of the clock's, once.
    private var continuing: Continuation?
    private var origin: Int64?
    private var periodStart: Int64 = 0
    private var periodFirstSegment: UInt32 = 0
    private var segment: UInt32 = 0
    private var discontinuity: UInt32 = 0
    private var epoch: UInt16 = 0
    /// A segment has begun in this session (and epoch).
    private var started = false
    private var sessionHasSegments = false
    private var videoDrives = false
    private var configurations: [MediaFrame.Kind: ByteBuffer] = [:]
    private var segmentStart: Int64 = 0
    private var lastDriverTime: Int64?
    private var step: Int64 = 0
    private var bytes = 0
    private var stalledFrames = 0

    /// `continuing`: where the stream's previous session left its numbers, if known; its first
    /// session goes on from there (a republish continues the playlists after a discontinuity)
    /// rather than from the clock.
    public init(rules: Rules, numbersFromClock: Bool = true, continuing: Continuation? = nil) {
        self.rules = rules
        self.numbersFromClock = numbersFromClock
        self.continuing = continuing
    }

    /// Where the next session would go on, once this one has begun a segment.
    public var continuation: Continuation? {
        sessionHasSegments ? Continuation(segment: segment &+ 1, discontinuity: discontinuity &+ 1) : nil
    }

    /// Stamps `frame` with its place in the timeline; `arrival` is the writer's clock as the
    /// frame arrives, used once per session to fix its origin and numbers.
    public mutating func stamp(_ frame: inout MediaFrame, arrivedAt arrival: Date) {
        if origin == nil {
            let milliseconds = (arrival.timeIntervalSince1970 * 1000).rounded()
            let bounds = MediaTimeline.originRange
            let wall = milliseconds.isFinite ? Int64(min(max(milliseconds, Double(bounds.lowerBound)), Double(bounds.upperBound))) : 0
            beginSession(firstFrame: frame, wallMilliseconds: wall)
        }
        if frame.isSequenceHeader {
            configure(frame)
        } else if frame.kind == .video || frame.kind == .audio {
            cut(at: &frame)
        }
        frame.timeline = MediaTimeline(origin: origin ?? 0, segment: segment, discontinuity: discontinuity, epoch: epoch,
                                       periodStart: periodStart, periodFirstSegment: periodFirstSegment)
    }

    /// The next frames belong to a new publish session: numbering starts again from its clock.
    public mutating func endSession() {
        origin = nil
        configurations = [:]
        videoDrives = false
    }

    private mutating func beginSession(firstFrame frame: MediaFrame, wallMilliseconds wall: Int64) {
        // `frame.dts` is inside MediaFrame.timeRange and `wall` inside originRange: no overflow.
        origin = min(max(wall - frame.dts, MediaTimeline.originRange.lowerBound), MediaTimeline.originRange.upperBound)
        let since = numbersFromClock ? max(0, wall - Self.numberingEpoch) : 0
        let firstSegment = UInt32(clamping: since / 250)
        let firstDiscontinuity = UInt32(clamping: since / 100)
        if let continuing {
            (segment, discontinuity) = (continuing.segment, continuing.discontinuity)
            self.continuing = nil
        } else {
            // Never back: a clock that stepped back keeps counting up from the previous session.
            segment = sessionHasSegments ? max(firstSegment, segment &+ 1) : firstSegment
            discontinuity = sessionHasSegments ? max(firstDiscontinuity, discontinuity &+ 1) : firstDiscontinuity
        }
        epoch = 0
        started = false
        sessionHasSegments = false
        lastDriverTime = nil
    }

    private mutating func configure(_ frame: MediaFrame) {
        if frame.kind == .video, let codec = VideoCodec(rawValue: frame.codec), codec == .h264 || codec == .hevc {
            videoDrives = true
        }
        let previous = configurations.updateValue(frame.payload, forKey: frame.kind)
        guard started, let previous, previous != frame.payload else { return }
        // New decoder configuration mid-session: the next segment starts afresh, after a discontinuity.
        epoch &+= 1
        discontinuity &+= 1
        started = false
    }

    private mutating func cut(at frame: inout MediaFrame) {
        let drives = (frame.kind == .video) == videoDrives
        let isCoded = frame.kind == .audio || ((try? VideoTagInfo(body: frame.payload))?.isCodedFrame ?? false)
        guard isCoded else { return }
        if !started {
            // The packager starts at the deciding track's first random-access frame.
            guard drives, frame.kind == .audio || frame.isKeyframe else { return }
            open(at: &frame, time: frame.dts, advances: sessionHasSegments)
            sessionHasSegments = true
            periodStart = frame.dts
            periodFirstSegment = segment
        } else if bytes >= rules.maxSegmentBytes || stalledFrames >= rules.maxStalledFrames {
            open(at: &frame, time: lastDriverTime ?? frame.dts, advances: true)
        } else if drives, frame.kind == .audio || frame.isKeyframe, isDue(frame.dts) {
            open(at: &frame, time: frame.dts, advances: true)
        }
        if drives { noteDriverTime(frame.dts) }
        bytes += frame.payload.readableBytes + Rules.frameOverhead
    }

    private func isDue(_ time: Int64) -> Bool {
        let interval = lastDriverTime.map { time - $0 } ?? 0
        let step = interval > 0 ? interval : self.step
        return time - segmentStart >= rules.segmentMilliseconds - step / 2
    }

    private mutating func open(at frame: inout MediaFrame, time: Int64, advances: Bool) {
        if advances { segment &+= 1 }
        frame.flags.insert(.segmentStart)
        started = true
        segmentStart = time
        bytes = 0
        stalledFrames = 0
    }

    private mutating func noteDriverTime(_ time: Int64) {
        if let last = lastDriverTime {
            if time > last {
                step = time - last
                stalledFrames = 0
            } else {
                stalledFrames += 1
                return
            }
        }
        lastDriverTime = time
    }
}
