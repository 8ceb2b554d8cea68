import NIOCore
import RTC

/// One incoming RTP stream of a WHIP publish (one SSRC): its jitter buffer, loss statistics,
/// clock and, for video, the depacketizer and FLV writer. Part of `WHIPReceiveState`.
struct WHIPTrack: Sendable {
    enum Kind: String, Sendable {
        case video, audio
    }

    /// A jitter buffer's wait for a missing packet (a NACK's round trip), ms.
    static let reorderWindowMs: Int64 = 150

    let kind: Kind
    /// The negotiated payload type this track's packets carry.
    let payloadType: UInt8
    /// The peer's SSRC; nil until its first packet (when the offer did not announce it).
    private(set) var ssrc: UInt32?
    var clock: RTPTrackClock
    private var sequences = SequenceUnwrapper()
    private var jitter = JitterBuffer<RTPPacket>(maxWaitMs: WHIPTrack.reorderWindowMs)
    private(set) var statistics = ReceiveStatistics()
    var depacketizer = H264Depacketizer()
    var writer = AVCTagWriter()
    /// The newest sender report: its NTP middle 32 bits and when it arrived (ms), for report blocks.
    private var lastSenderReport: (middle: UInt32, arrivalMs: Int64)?
    /// When the newest packet arrived (ms), to tell a silent SSRC from a live one.
    private(set) var lastPacketMs: Int64?
    /// When a PLI was last sent (ms).
    var lastPLIMs: Int64?
    /// Sequence numbers asked for again, PLIs sent, packets the jitter buffer refused.
    var nacked = 0
    var plis = 0
    private(set) var refused = 0

    init(kind: Kind, payloadType: UInt8, ssrc: UInt32?) {
        self.kind = kind
        self.payloadType = payloadType
        self.ssrc = ssrc
        clock = RTPTrackClock(clockRate: kind == .video ? 90_000 : 48_000)
    }

    /// Whether a packet of `ssrc` belongs here: the track's SSRC, or any SSRC when the track
    /// has none yet or its own was silent for `takeoverMs` (a publisher that restarted).
    func accepts(ssrc candidate: UInt32, nowMs: Int64, takeoverMs: Int64) -> Bool {
        guard let ssrc, candidate != ssrc else { return true }
        guard let last = lastPacketMs else { return true }
        return nowMs &- last >= takeoverMs
    }

    /// Takes a packet of a (possibly new) SSRC into the jitter buffer.
    mutating func insert(_ packet: RTPPacket, nowMs: Int64) {
        if ssrc != packet.header.ssrc { restart(ssrc: packet.header.ssrc) }
        lastPacketMs = nowMs
        let units = UInt32(truncatingIfNeeded: nowMs &* clock.clockRate / 1000)
        statistics.received(sequence: packet.header.sequenceNumber, rtpTimestamp: packet.header.timestamp, arrivalRTPUnits: units)
        let sequence = sequences.unwrap(packet.header.sequenceNumber)
        if !jitter.insert(packet, sequence: sequence, arrivalMs: nowMs) { refused += 1 }
    }

    /// The packets that are next in order now (gaps older than the reorder window skipped).
    mutating func ready(nowMs: Int64) -> [(sequence: UInt64, element: RTPPacket)] {
        jitter.pop(nowMs: nowMs)
    }

    /// Sequence numbers to ask for again now.
    mutating func missing(nowMs: Int64) -> [UInt16] {
        jitter.missing(nowMs: nowMs)
    }

    mutating func noteSenderReport(_ report: RTCPSenderReport, nowMs: Int64) {
        clock.noteSenderReport(rtpTimestamp: report.rtpTimestamp, ntpTime: report.ntpTime)
        lastSenderReport = (NTPTime.middle32(report.ntpTime), nowMs)
    }

    /// This track's receiver report block (RFC 3550 §6.4.1: DLSR in 1/65536 s); nil before its first packet.
    mutating func reportBlock(nowMs: Int64) -> RTCPReportBlock? {
        guard let ssrc, lastPacketMs != nil else { return nil }
        var delay: UInt32 = 0
        if let report = lastSenderReport {
            let elapsed = min(max(nowMs &- report.arrivalMs, 0), Int64(UInt32.max) / 66)
            delay = UInt32(elapsed * 65_536 / 1000)
        }
        return statistics.reportBlock(ssrc: ssrc, lastSR: lastSenderReport?.middle ?? 0, delaySinceLastSR: delay)
    }

    /// A new SSRC on this track: everything per-stream starts over; the clock keeps its last time
    /// so the track's times go on from there.
    private mutating func restart(ssrc: UInt32) {
        let hadOne = self.ssrc != nil
        self.ssrc = ssrc
        guard hadOne else { return }
        sequences = SequenceUnwrapper()
        jitter = JitterBuffer<RTPPacket>(maxWaitMs: Self.reorderWindowMs)
        statistics = ReceiveStatistics()
        depacketizer = H264Depacketizer()
        lastSenderReport = nil
        clock.restart()
    }
}
