import Events

/// Turns RTMP's 32-bit millisecond timestamps, which wrap after about 49.7 days, into a
/// monotonic 64-bit time line (RTMP specification 1.0 §5.3.1.3: timestamps are compared
/// modulo 2³²): each timestamp becomes the value congruent to it nearest the newest so far.
///
/// A publisher can push the time line by up to 2³¹ ms a message, so it is bounded: a timestamp
/// that would unwrap outside `MediaFrame.timeRange` is refused (nil) and leaves the time line as
/// it was. Inside that range all arithmetic here is far from overflow.
struct TimestampUnwrapper: Sendable {
    private static let period: Int64 = 1 << 32
    private var newest: Int64?

    mutating func unwrap(_ timestamp: UInt32) -> Int64? {
        guard let newest else {
            newest = Int64(timestamp)
            return Int64(timestamp)
        }
        var candidate = (newest & ~(Self.period - 1)) + Int64(timestamp)
        if candidate - newest > Self.period / 2 {
            candidate -= Self.period
        } else if newest - candidate > Self.period / 2 {
            candidate += Self.period
        }
        guard MediaFrame.timeRange.contains(candidate) else { return nil }
        self.newest = max(newest, candidate)
        return candidate
    }
}
