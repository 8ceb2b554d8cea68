/// NTP timestamps as RTCP sender reports carry them (RFC 3550 §4): 32 bits of seconds since
/// 1900-01-01 and 32 bits of fraction.
public enum NTPTime {
    /// Seconds from 1900-01-01 (NTP's era 0) to 1970-01-01 (Unix).
    static let unixEpochOffset: UInt64 = 2_208_988_800

    /// The 64-bit NTP timestamp of a Unix time in nanoseconds (negative times clamp to the Unix epoch).
    public static func from(unixNanoseconds: Int64) -> UInt64 {
        let nanoseconds = UInt64(max(0, unixNanoseconds))
        let seconds = nanoseconds / 1_000_000_000 + unixEpochOffset
        let fraction = ((nanoseconds % 1_000_000_000) << 32) / 1_000_000_000
        return (seconds << 32) | fraction
    }

    /// The middle 32 bits (16 bits of seconds, 16 of fraction): the LSR field of a report
    /// block and the unit of DLSR (1/65536 s) (RFC 3550 §6.4.1).
    public static func middle32(_ ntp: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: ntp >> 16)
    }

    /// The Unix time in nanoseconds of an NTP timestamp (era 0), the inverse of `from`.
    public static func unixNanoseconds(_ ntp: UInt64) -> Int64 {
        let seconds = (ntp >> 32) &- unixEpochOffset
        let fraction = ((ntp & 0xFFFF_FFFF) &* 1_000_000_000) >> 32
        return Int64(truncatingIfNeeded: seconds &* 1_000_000_000 &+ fraction)
    }
}
