import Foundation

/// The health rules of one publish session, pure: frames are observed with the time they
/// arrived, and `warnings(at:)` says what is wrong at an instant. No clock of its own (tests and
/// the worker pass the time), no I/O; `StreamHealthTracker` turns its answers into starts and clears.
///
/// The rules (limits in `Rules`):
/// - keyframe-interval: the last keyframe-to-keyframe distance (video dts), or the GOP open now,
///   is over 4 s.
/// - b-frames: a video frame with pts ≠ dts within the last 10 s, on a channel with LL-HLS on.
/// - bitrate-collapse: each of the last 5 whole seconds carried under 25 % of the median of the
///   last 30 s (once 10 s have been seen).
/// - timestamp-jump: a video or audio dts that moved more than 1 s forward or back from the
///   track's previous frame, within the last 30 s.
/// - audio-missing: video for more than 5 s with no audio frame: `warning` when the session had
///   audio and lost it, `info` when it never had any (cameras without sound are common).
/// - push-url-expiring: the channel expires within 7 days (its push URLs stop working then).
public struct StreamHealth: Sendable {
    public struct Rules: Sendable, Hashable {
        /// Longest keyframe interval without a warning, milliseconds. Default 4000.
        public var keyframeIntervalLimit: Int64 = 4000
        /// How long a B-frame keeps the warning up, seconds. Default 10.
        public var bFrameHold: TimeInterval = 10
        /// Share of the median under which a second counts as collapsed. Default 0.25.
        public var collapseShare: Double = 0.25
        /// Seconds whose median is the reference. Default 30.
        public var collapseWindow = 30
        /// Collapsed seconds in a row that raise the warning. Default 5.
        public var collapseSeconds = 5
        /// Largest dts step of a track without a warning, milliseconds. Default 1000.
        public var timestampJumpLimit: Int64 = 1000
        /// How long a jump keeps the warning up, seconds. Default 30.
        public var timestampJumpHold: TimeInterval = 30
        /// Seconds of video without audio before the warning. Default 5.
        public var audioGap: TimeInterval = 5
        /// How far ahead a channel's expiry is announced, seconds. Default a week.
        public var expiryNotice: TimeInterval = 7 * 86_400

        public init() {}
    }

    /// What the rules need to know of the channel.
    public struct Context: Sendable, Hashable {
        /// LL-HLS (or another low-latency output) is on: B-frames delay it.
        public var lowLatency: Bool
        /// When the channel, and with it every push URL, stops working; nil: never.
        public var expiresAt: Date?

        public init(lowLatency: Bool = false, expiresAt: Date? = nil) {
            self.lowLatency = lowLatency
            self.expiresAt = expiresAt
        }

        public init(channel: StreamChannel?) {
            self.init(lowLatency: channel?.outputs.llhls ?? false, expiresAt: channel?.expiresAt)
        }
    }

    /// What the rules read of a frame.
    public struct Observation: Sendable, Hashable {
        public enum Kind: Sendable, Hashable { case video, audio }
        public var kind: Kind
        public var isKeyframe: Bool
        /// Milliseconds, the session's time line.
        public var dts: Int64
        public var pts: Int64
        public var bytes: Int

        public init(kind: Kind, isKeyframe: Bool = false, dts: Int64, pts: Int64? = nil, bytes: Int) {
            self.kind = kind
            self.isKeyframe = isKeyframe
            self.dts = dts
            self.pts = pts ?? dts
            self.bytes = bytes
        }

        /// The media frames the rules look at: video and audio samples, not configurations or metadata.
        public init?(_ frame: MediaFrame) {
            guard !frame.isConfiguration else { return nil }
            let kind: Kind
            switch frame.kind {
            case .video: kind = .video
            case .audio: kind = .audio
            default: return nil
            }
            self.init(kind: kind, isKeyframe: frame.isKeyframe, dts: frame.dts, pts: frame.pts, bytes: frame.payload.readableBytes)
        }
    }

    public let rules: Rules
    public var context: Context
    let startedAt: Date
    var keyframes = KeyframeTrack()
    var lastBFrame: (at: Date, offset: Int64)?
    var bitrate: BitrateWindow
    var lastDTS: [Observation.Kind: Int64] = [:]
    var lastJump: (at: Date, kind: Observation.Kind, step: Int64)?
    var firstVideo: Date?
    var lastVideo: Date?
    var lastAudio: Date?

    /// - Parameter startedAt: when the session's first frame arrived (or the watcher began).
    public init(rules: Rules = Rules(), context: Context, startedAt: Date) {
        self.rules = rules
        self.context = context
        self.startedAt = startedAt
        bitrate = BitrateWindow(seconds: rules.collapseWindow, start: startedAt)
    }

    /// Notes one frame that arrived at `now`.
    public mutating func observe(_ frame: Observation, at now: Date) {
        bitrate.add(frame.bytes, at: now)
        if let previous = lastDTS[frame.kind] {
            let (step, overflow) = frame.dts.subtractingReportingOverflow(previous)
            if overflow || step > rules.timestampJumpLimit || step < -rules.timestampJumpLimit {
                lastJump = (now, frame.kind, overflow ? Int64.max : step)
            }
        }
        lastDTS[frame.kind] = frame.dts
        switch frame.kind {
        case .audio:
            lastAudio = now
        case .video:
            if firstVideo == nil { firstVideo = now }
            lastVideo = now
            if frame.pts != frame.dts { lastBFrame = (now, frame.pts &- frame.dts) }
            keyframes.observe(dts: frame.dts, keyframe: frame.isKeyframe)
        }
    }

    /// What is wrong at `now`, in `Code` order; `since` is `now` (the tracker keeps the real start).
    public func warnings(at now: Date) -> [HealthWarning] {
        var found: [HealthWarning] = []
        func warn(_ code: HealthWarning.Code, _ severity: HealthWarning.Severity, _ message: String) {
            found.append(HealthWarning(code: code, severity: severity, message: message, since: now))
        }
        if let interval = keyframes.worstRecent, interval > rules.keyframeIntervalLimit {
            warn(.keyframeInterval, .warning, "Keyframe interval is \(Self.seconds(interval)) s; 2 s is advised "
                 + "(players join and LL-HLS parts wait for keyframes). Set the encoder's keyframe interval to 2 s.")
        }
        if context.lowLatency, let bFrame = lastBFrame, now.timeIntervalSince(bFrame.at) <= rules.bFrameHold {
            warn(.bFrames, .warning, "The video has B-frames (composition offset \(bFrame.offset) ms) and LL-HLS is on: "
                 + "they add latency and some players stall. Turn B-frames off in the encoder (x264: bframes=0).")
        }
        if let collapse = bitrate.collapse(at: now, share: rules.collapseShare, seconds: rules.collapseSeconds) {
            warn(.bitrateCollapse, .critical, "Ingest bitrate fell to \(collapse.current) kbit/s, under a quarter of its "
                 + "\(rules.collapseWindow) s median (\(collapse.median) kbit/s): check the encoder's network and CPU.")
        }
        if let jump = lastJump, now.timeIntervalSince(jump.at) <= rules.timestampJumpHold {
            let direction = jump.step < 0 ? "back" : "forward"
            let size = jump.step == Int64.max ? "a huge step" : "\(Self.seconds(jump.step.magnitude)) s"
            warn(.timestampJump, .warning, "The \(jump.kind == .video ? "video" : "audio") timestamps jumped \(direction) by "
                 + "\(size): players may stall or skip. Check the encoder's clock and source.")
        }
        if let (severity, message) = audioWarning(at: now) { warn(.audioMissing, severity, message) }
        if let expiry = context.expiresAt, expiry.timeIntervalSince(now) <= rules.expiryNotice {
            let formatted = ISO8601DateFormatter().string(from: expiry)
            warn(.pushURLExpiring, .warning, expiry <= now ? "The channel expired at \(formatted); its push URLs no longer work."
                 : "The channel expires at \(formatted); its push URLs stop working then. Extend the channel's expiry to keep publishing.")
        }
        return found
    }

    private func audioWarning(at now: Date) -> (HealthWarning.Severity, String)? {
        guard let firstVideo, let lastVideo, now.timeIntervalSince(lastVideo) <= rules.audioGap else { return nil }
        if let lastAudio {
            guard now.timeIntervalSince(lastAudio) > rules.audioGap else { return nil }
            return (.warning, "Audio stopped for more than \(Int(rules.audioGap)) s while video goes on: "
                    + "check the encoder's audio source.")
        }
        guard now.timeIntervalSince(firstVideo) > rules.audioGap else { return nil }
        return (.info, "The stream has no audio. If it should have sound, check the encoder's audio source.")
    }

    /// Milliseconds as seconds with one decimal: "10.0".
    static func seconds<T: BinaryInteger>(_ milliseconds: T) -> String {
        let tenths = Int64(clamping: milliseconds) / 100
        return "\(tenths / 10).\(tenths % 10)"
    }
}

/// Keyframe distances of one video track, in its dts.
struct KeyframeTrack: Sendable, Hashable {
    private var lastKeyframe: Int64?
    private var lastInterval: Int64?
    private var newest: Int64?

    mutating func observe(dts: Int64, keyframe: Bool) {
        newest = dts
        guard keyframe else { return }
        if let lastKeyframe { lastInterval = dts.subtractingReportingOverflow(lastKeyframe).partialValue }
        lastKeyframe = dts
    }

    /// The larger of the last whole interval and the GOP open now; nil before anything can be said.
    var worstRecent: Int64? {
        guard let lastKeyframe, let newest else { return nil }
        let open = newest.subtractingReportingOverflow(lastKeyframe).partialValue
        return max(open, lastInterval ?? open)
    }
}

/// Bytes per whole second of arrival time over a sliding window.
struct BitrateWindow: Sendable, Hashable {
    private let seconds: Int
    /// The first second counted (the window's start while it fills).
    private let start: Int64
    /// Bytes by whole second (Unix).
    private var buckets: [Int64: Int] = [:]

    init(seconds: Int, start: Date) {
        self.seconds = max(seconds, 1)
        self.start = Self.second(start)
    }

    mutating func add(_ bytes: Int, at now: Date) {
        let second = Self.second(now)
        buckets[second, default: 0] &+= bytes
        let oldest = second - Int64(seconds)
        if buckets.count > seconds + 2 { buckets = buckets.filter { $0.key > oldest } }
    }

    /// The current and median rate (kbit/s) when each of the last `recent` whole seconds before
    /// `now` carried under `share` of the window's median; nil otherwise or while under 10 s are known.
    func collapse(at now: Date, share: Double, seconds recent: Int) -> (current: Int, median: Int)? {
        let last = Self.second(now) - 1
        let first = max(start, last - Int64(seconds) + 1)
        guard last - first + 1 >= 10 else { return nil }
        let window = (first...last).map { buckets[$0] ?? 0 }.sorted()
        let median = window[window.count / 2]
        guard median > 0 else { return nil }
        let tail = ((last - Int64(max(recent, 1)) + 1)...last).map { buckets[$0] ?? 0 }
        guard tail.allSatisfy({ Double($0) < share * Double(median) }) else { return nil }
        let current = tail.reduce(0, &+) / max(tail.count, 1)
        // Bytes per second to kbit/s (× 8 ÷ 1000), without a product that could overflow.
        return (current / 125, median / 125)
    }

    static func second(_ date: Date) -> Int64 {
        Int64(exactly: date.timeIntervalSince1970.rounded(.down)) ?? 0
    }
}
