/// Places one received RTP track's timestamps on the session's millisecond timeline, the one
/// every track of a WHIP publish shares (so audio and video stay in sync in FLV, HLS and the rest).
///
/// RTP timestamps wrap at 32 bits and start at a random value (RFC 3550 §5.1); they are unwrapped
/// first. Two ways to place them, the better one winning as soon as it is known:
/// - the peer's RTCP sender reports (RFC 3550 §6.4.1) pair an RTP timestamp with the sender's NTP
///   wallclock; every track with one is placed by wallclock, so tracks line up as the sender
///   captured them (the session's `WHIPSessionOrigin` turns wallclock into timeline time);
/// - before a sender report, the track's first packet is anchored at its arrival time on the
///   timeline, and later timestamps count on from there.
/// The result never goes backwards (switching from arrival to wallclock placement may step back
/// a few milliseconds; such frames keep the last time) and stays inside 0…`maxMs`.
struct RTPTrackClock: Sendable {
    /// Timestamps that far from a reference are clamped before being scaled: 2^40 RTP units is
    /// over 138 days at 90 kHz, and scaling it by 1000 cannot overflow.
    static let maxUnitsDelta: Int64 = 1 << 40
    /// The latest time handed out: `MediaFrame.timeRange`'s upper bound.
    static let maxMs: Int64 = 1 << 40

    /// RTP units per second: 90 000 for video, 48 000 for Opus (RFC 7587 §4.1).
    let clockRate: Int64
    private var unwrapper = RTPTimestampUnwrapper()
    /// The first packet's unwrapped timestamp and its arrival on the timeline.
    private var arrivalAnchor: (rtp: Int64, ms: Int64)?
    /// The newest sender report: an unwrapped timestamp and its wallclock in NTP milliseconds.
    private var wallclockAnchor: (rtp: Int64, ntpMs: Int64)?
    private var lastMs: Int64?

    init(clockRate: Int64) {
        self.clockRate = max(1, clockRate)
    }

    /// Whether a sender report placed this track on the wallclock.
    var isSynchronized: Bool { wallclockAnchor != nil }

    /// Unwraps a packet's timestamp (moving the unwrapper along).
    mutating func unwrap(_ timestamp: UInt32) -> Int64 {
        unwrapper.unwrap(timestamp)
    }

    /// Notes a sender report of this track: `rtpTimestamp` was sampled at NTP time `ntpTime`.
    mutating func noteSenderReport(rtpTimestamp: UInt32, ntpTime: UInt64) {
        wallclockAnchor = (unwrapper.nearest(rtpTimestamp), NTPMilliseconds.of(ntpTime))
    }

    /// The timeline time of the unwrapped timestamp `rtp`, arriving `arrivalMs` after the
    /// session's start; `origin` turns sender-report wallclock into timeline time.
    mutating func milliseconds(rtp: Int64, arrivalMs: Int64, origin: inout WHIPSessionOrigin) -> Int64 {
        var ms: Int64
        if let wallclock = wallclockAnchor {
            let ntpMs = wallclock.ntpMs &+ scaled(rtp - wallclock.rtp)
            ms = origin.timeline(ntpMs: ntpMs, arrivalMs: arrivalMs)
        } else {
            if arrivalAnchor == nil { arrivalAnchor = (rtp, arrivalMs) }
            let anchor = arrivalAnchor ?? (rtp, arrivalMs)
            ms = anchor.ms &+ scaled(rtp - anchor.rtp)
        }
        ms = min(max(ms, 0), Self.maxMs)
        if let last = lastMs, ms < last { ms = last }
        lastMs = ms
        return ms
    }

    /// A new RTP stream (a new SSRC) on the track: its timestamps start over from a random
    /// value, so every anchor goes; the last time handed out stays, and times go on from it.
    mutating func restart() {
        unwrapper = RTPTimestampUnwrapper()
        arrivalAnchor = nil
        wallclockAnchor = nil
    }

    /// Milliseconds in `units` RTP units, the units clamped to ±`maxUnitsDelta` first.
    func scaled(_ units: Int64) -> Int64 {
        let bounded = min(max(units, -Self.maxUnitsDelta), Self.maxUnitsDelta)
        return bounded * 1000 / clockRate
    }
}

/// Where the session's timeline starts in the sender's wallclock: fixed by the first sender
/// report of any track, so that report's instant lands at its arrival time on the timeline and
/// every other synchronized track is placed by the same offset.
struct WHIPSessionOrigin: Sendable {
    /// NTP milliseconds at timeline time 0.
    private(set) var ntpOriginMs: Int64?

    /// Timeline time of wallclock `ntpMs`; the first call fixes the origin from `arrivalMs`.
    mutating func timeline(ntpMs: Int64, arrivalMs: Int64) -> Int64 {
        if ntpOriginMs == nil { ntpOriginMs = ntpMs &- arrivalMs }
        return ntpMs &- (ntpOriginMs ?? 0)
    }
}

/// 64-bit NTP timestamps (RFC 5905 §6: seconds since 1900 in the high 32 bits, a binary fraction
/// in the low 32) in milliseconds; every term is bounded, so nothing overflows.
enum NTPMilliseconds {
    static func of(_ ntp: UInt64) -> Int64 {
        let seconds = Int64(ntp >> 32)
        let fraction = Int64(ntp & 0xFFFF_FFFF)
        return seconds * 1000 + (fraction * 1000) >> 32
    }
}

/// Extends 32-bit RTP timestamps to 64 bits: each one is taken as the value nearest the last
/// (a step of at most 2^31 either way), as RFC 3550 §A.1 does for sequence numbers.
struct RTPTimestampUnwrapper: Sendable {
    private var last: Int64?

    /// `timestamp`, unwrapped, becoming the new reference.
    mutating func unwrap(_ timestamp: UInt32) -> Int64 {
        let value = nearest(timestamp)
        last = value
        return value
    }

    /// `timestamp` unwrapped near the reference, leaving the reference alone.
    func nearest(_ timestamp: UInt32) -> Int64 {
        guard let last else { return Int64(timestamp) }
        let delta = Int64(Int32(bitPattern: timestamp &- UInt32(truncatingIfNeeded: last)))
        return last &+ delta
    }
}
