import NIOCore
import RTC

/// What one peer session counted: media both ways, the peer's receiver reports, RTT and drops.
public struct PeerStatistics: Sendable, Equatable {
    /// SRTP and SRTCP packets sent (after protection), and their bytes on the wire.
    public var packetsSent = 0
    public var bytesSent = 0
    /// SRTP and SRTCP packets received that decrypted, and their bytes on the wire.
    public var packetsReceived = 0
    public var bytesReceived = 0
    /// RTP packets among the received ones.
    public var rtpPacketsReceived = 0
    /// Generic NACK feedback packets received (RFC 4585 §6.2.1), and the sequence numbers they asked for.
    public var nacksReceived = 0
    public var nackedPackets = 0
    /// Picture Loss Indications received (RFC 4585 §6.3.1), with full intra requests (RFC 5104 §4.3.1).
    public var plisReceived = 0
    public var firsReceived = 0
    /// Receiver report blocks received (in RR or SR packets).
    public var reportsReceived = 0
    /// The latest report's fraction lost (0…1) over the session's media; the worst SSRC's.
    public var fractionLost = 0.0
    /// Cumulative packets lost the peer reported, summed over SSRCs (RFC 3550 §6.4.1; may be negative with duplicates).
    public var packetsLost = 0
    /// The latest interarrival jitter reported, in RTP timestamp units; the worst SSRC's.
    public var jitter: UInt32 = 0
    /// Round-trip time in milliseconds from the latest report block whose LSR matches a sender
    /// report this session sent (RFC 3550 §6.4.1: now − send time − DLSR); nil before one.
    public var rttMs: Double?
    /// When DTLS finished (monotonic clock); nil before.
    public var connectedAt: NIODeadline?
    /// Datagrams to or from this session dropped, by reason.
    public var drops = DatagramDrops()

    public init() {}

    /// Seconds since `connectedAt` at `now`; 0 before connecting.
    public func connectedSeconds(now: NIODeadline = .now()) -> Double {
        guard let connectedAt else { return 0 }
        return Double((now - connectedAt).nanoseconds) / 1e9
    }
}

/// The report blocks a session keeps per reported SSRC, to sum and rank them.
struct ReceiverReportLedger: Sendable {
    /// At most this many SSRCs are kept (a session reports on one video and one audio stream).
    static let capacity = 8
    private var latest: [UInt32: RTCPReportBlock] = [:]

    /// Takes `block` and writes the totals into `statistics`.
    mutating func record(_ block: RTCPReportBlock, into statistics: inout PeerStatistics) {
        guard latest[block.ssrc] != nil || latest.count < Self.capacity else { return }
        latest[block.ssrc] = block
        statistics.reportsReceived &+= 1
        var lost = 0
        var fraction: UInt8 = 0
        var jitter: UInt32 = 0
        for block in latest.values {
            lost &+= Int(block.cumulativeLost)
            fraction = max(fraction, block.fractionLost)
            jitter = max(jitter, block.jitter)
        }
        statistics.packetsLost = lost
        statistics.fractionLost = Double(fraction) / 256
        statistics.jitter = jitter
    }
}

/// The sender reports a session sent lately, by the middle 32 bits of their NTP time, so a
/// report block's LSR/DLSR gives the round trip (RFC 3550 §6.4.1).
struct SenderReportLog: Sendable {
    static let capacity = 16
    private var entries: [(middle: UInt32, sentAt: NIODeadline)] = []
    private var next = 0

    /// Remembers a sender report with NTP time `ntp` leaving at `sentAt`.
    mutating func sent(ntp: UInt64, at sentAt: NIODeadline) {
        let entry = (middle: NTPTime.middle32(ntp), sentAt: sentAt)
        if entries.count < Self.capacity {
            entries.append(entry)
        } else {
            entries[next] = entry
        }
        next = (next + 1) % Self.capacity
    }

    /// Round trip in milliseconds for a report block with `lastSR`/`delaySinceLastSR` (1/65536 s)
    /// arriving at `now`; nil when the LSR is 0 or not one this session sent, or the result is
    /// negative past the DLSR's rounding (a millisecond; within it, 0).
    func roundTripMs(lastSR: UInt32, delaySinceLastSR: UInt32, now: NIODeadline) -> Double? {
        guard lastSR != 0, let entry = entries.first(where: { $0.middle == lastSR }) else { return nil }
        let elapsedMs = Double((now - entry.sentAt).nanoseconds) / 1e6
        let rtt = elapsedMs - Double(delaySinceLastSR) * 1000 / 65_536
        return rtt >= -1 ? max(rtt, 0) : nil
    }
}
