/// Turns RTMP's 32-bit millisecond timestamps, which wrap after about 49.7 days, into a
/// monotonic 64-bit time line (RTMP specification 1.0 §5.3.1.3: timestamps are compared
/// modulo 2³²).
struct TimestampUnwrapper: Sendable {
    private var epoch: Int64 = 0
    private var last: UInt32?

    mutating func unwrap(_ timestamp: UInt32) -> Int64 {
        defer { last = timestamp }
        if let last {
            if timestamp < last, last - timestamp > UInt32(1) << 31 { epoch += 1 << 32 }
            if timestamp > last, timestamp - last > UInt32(1) << 31, epoch > 0 { return epoch - (1 << 32) + Int64(timestamp) }
        }
        return epoch + Int64(timestamp)
    }
}
