/// What a receiver counts of one RTP source for its report blocks: sequence tracking
/// (RFC 3550 A.1), loss (A.3) and interarrival jitter (A.8).
public struct ReceiveStatistics: Sendable {
    /// A jump ahead of this many sequence numbers is taken as a restart only when confirmed (A.1).
    static let maxDropout: UInt16 = 3000
    /// Sequence numbers this far behind the highest are late packets, not a restart (A.1).
    static let maxMisorder: UInt16 = 100

    private var started = false
    private var baseSequence: UInt32 = 0
    private var maxSequence: UInt16 = 0
    private var cycles: UInt32 = 0
    private var badSequence: UInt32 = 1 << 16 + 1
    private var receivedCount: UInt64 = 0
    private var expectedPrior: Int64 = 0
    private var receivedPrior: Int64 = 0
    private var lastTransit: UInt32?
    /// Jitter × 16, the fixed-point form of A.8.
    private var scaledJitter: UInt32 = 0

    public init() {}

    /// Packets received (duplicates included, as A.3 counts them).
    public var packetsReceived: Int { Int(clamping: receivedCount) }

    /// Expected minus received since the first packet (negative with duplicates).
    public var packetsLost: Int { Int(clamping: expected - Int64(clamping: receivedCount)) }

    /// Interarrival jitter in RTP timestamp units.
    public var jitter: UInt32 { scaledJitter >> 4 }

    private var extendedMax: UInt32 { cycles &+ UInt32(maxSequence) }
    private var expected: Int64 { started ? Int64(extendedMax) - Int64(baseSequence) + 1 : 0 }

    /// Counts one packet. `arrivalRTPUnits`: the arrival time in the stream's RTP clock
    /// (e.g. milliseconds × 90 for video), any origin.
    public mutating func received(sequence: UInt16, rtpTimestamp: UInt32, arrivalRTPUnits: UInt32) {
        guard updateSequence(sequence) else { return }
        receivedCount &+= 1
        let transit = arrivalRTPUnits &- rtpTimestamp
        if let lastTransit {
            let difference = Int32(bitPattern: transit &- lastTransit).magnitude
            let delta = Int64(difference) - Int64((scaledJitter &+ 8) >> 4)
            scaledJitter = UInt32(clamping: Int64(scaledJitter) + delta)
        }
        lastTransit = transit
    }

    /// A.1's update_seq: false for a packet that is not counted (an unconfirmed jump).
    private mutating func updateSequence(_ sequence: UInt16) -> Bool {
        guard started else {
            restart(at: sequence)
            return true
        }
        let delta = sequence &- maxSequence
        if delta < Self.maxDropout {
            if sequence < maxSequence { cycles &+= 1 << 16 }
            maxSequence = sequence
        } else if delta <= UInt16.max - Self.maxMisorder {
            guard UInt32(sequence) == badSequence else {
                badSequence = UInt32(sequence &+ 1)
                return false
            }
            restart(at: sequence)
        }
        return true
    }

    private mutating func restart(at sequence: UInt16) {
        started = true
        baseSequence = UInt32(sequence)
        maxSequence = sequence
        cycles = 0
        badSequence = 1 << 16 + 1
        receivedCount = 0
        expectedPrior = 0
        receivedPrior = 0
    }

    /// The report block for this source now; the fraction lost covers the time since the
    /// previous call (A.3).
    ///
    /// - Parameters:
    ///   - lastSR: `NTPTime.middle32` of the last sender report received from the source (0: none).
    ///   - delaySinceLastSR: since then, in 1/65536 s (0: none).
    public mutating func reportBlock(ssrc: UInt32, lastSR: UInt32, delaySinceLastSR: UInt32) -> RTCPReportBlock {
        let expectedNow = expected
        let receivedNow = Int64(clamping: receivedCount)
        let expectedInterval = expectedNow - expectedPrior
        let lostInterval = expectedInterval - (receivedNow - receivedPrior)
        expectedPrior = expectedNow
        receivedPrior = receivedNow
        let fraction = expectedInterval <= 0 || lostInterval <= 0 ? 0 : min(255, (lostInterval << 8) / expectedInterval)
        let lost = Int32(clamping: min(max(expectedNow - receivedNow, -0x80_0000), 0x7F_FFFF))
        return RTCPReportBlock(ssrc: ssrc, fractionLost: UInt8(fraction), cumulativeLost: lost, highestSequence: extendedMax,
                               jitter: jitter, lastSR: lastSR, delaySinceLastSR: delaySinceLastSR)
    }
}
