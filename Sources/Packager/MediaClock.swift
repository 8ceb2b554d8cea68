/// One track's media time, in milliseconds, made from its publisher's timestamps.
///
/// Timestamps are untrusted: a publisher may freeze them, run them backwards, jump by 2³¹ ms
/// (a wrong guess at RTMP's 32-bit wrap), and a damaged record may carry any Int64. The packager
/// multiplies media time by timescales and adds durations to it, so it gets time from here:
/// never negative, never past `ceiling`, never a step back and never a step forward longer than
/// `maxStep`. A step that breaks those rules counts as none — time stays where it was — and the
/// next one is measured from the new timestamp, so a clock that was reset continues smoothly.
/// Well-behaved timestamps come out unchanged.
struct MediaClock: Sendable {
    /// The longest step kept as it is, ms: a camera that stops sending pictures for up to a
    /// minute keeps its real time (and its sync with audio). Longer steps are a broken clock.
    static let maxStep: Int64 = 60_000
    /// The latest media time, ms (2⁴⁰ ms is 34 years): times a 2³²-Hz timescale stays inside
    /// 64 bits.
    static let ceiling: Int64 = 1 << 40
    /// Composition offsets (pts − dts) beyond this many ms either way are clamped to it.
    static let maxCompositionOffset: Int64 = 10_000

    private var last: (timestamp: Int64, time: Int64)?

    /// The media time of the next frame, decoded at `timestamp` ms.
    mutating func time(of timestamp: Int64) -> Int64 {
        guard let last else {
            let start = (0...Self.ceiling).contains(timestamp) ? timestamp : 0
            self.last = (timestamp, start)
            return start
        }
        let (step, overflow) = timestamp.subtractingReportingOverflow(last.timestamp)
        let kept = !overflow && (0...Self.maxStep).contains(step) ? step : 0
        let time = min(last.time + kept, Self.ceiling)
        self.last = (timestamp, time)
        return time
    }

    /// `pts − dts`, ms, without overflow and within ±`maxCompositionOffset`.
    static func compositionOffset(pts: Int64, dts: Int64) -> Int64 {
        let (offset, overflow) = pts.subtractingReportingOverflow(dts)
        guard !overflow else { return 0 }
        return min(max(offset, -maxCompositionOffset), maxCompositionOffset)
    }
}

extension UInt64 {
    /// `milliseconds` in a `timescale` (ticks per second), for times from `MediaClock`
    /// (0…2⁴⁰ ms): split so the product stays inside 64 bits for any 32-bit timescale.
    init(milliseconds: Int64, timescale: UInt32) {
        let ms = UInt64(Swift.max(0, Swift.min(milliseconds, MediaClock.ceiling)))
        self = ms / 1000 * UInt64(timescale) + ms % 1000 * UInt64(timescale) / 1000
    }
}
