import NIOCore

/// One reception report block of a sender or receiver report (RFC 3550 §6.4.1): 24 bytes.
public struct RTCPReportBlock: Sendable, Equatable {
    /// The SSRC whose packets this block reports on.
    public var ssrc: UInt32
    /// Fraction of packets lost since the previous report, in 1/256.
    public var fractionLost: UInt8
    /// Packets lost since the start (24-bit signed on the wire: duplicates can make it negative).
    public var cumulativeLost: Int32
    /// The extended highest sequence number received (cycles << 16 | sequence).
    public var highestSequence: UInt32
    /// Interarrival jitter in RTP timestamp units.
    public var jitter: UInt32
    /// The middle 32 bits of the NTP time of the last sender report received (0: none).
    public var lastSR: UInt32
    /// Delay since that sender report, in 1/65536 s.
    public var delaySinceLastSR: UInt32

    public init(ssrc: UInt32, fractionLost: UInt8, cumulativeLost: Int32, highestSequence: UInt32,
                jitter: UInt32, lastSR: UInt32, delaySinceLastSR: UInt32) {
        self.ssrc = ssrc
        self.fractionLost = fractionLost
        self.cumulativeLost = cumulativeLost
        self.highestSequence = highestSequence
        self.jitter = jitter
        self.lastSR = lastSR
        self.delaySinceLastSR = delaySinceLastSR
    }

    static let size = 24

    /// Reads a block; the caller checked that 24 bytes are there.
    static func read(_ input: inout ByteBuffer) -> RTCPReportBlock? {
        guard let ssrc = input.readInteger(as: UInt32.self), let lost = input.readInteger(as: UInt32.self),
              let highest = input.readInteger(as: UInt32.self), let jitter = input.readInteger(as: UInt32.self),
              let lastSR = input.readInteger(as: UInt32.self), let delay = input.readInteger(as: UInt32.self) else { return nil }
        let cumulative = Int32(bitPattern: lost << 8) >> 8
        return RTCPReportBlock(ssrc: ssrc, fractionLost: UInt8(lost >> 24), cumulativeLost: cumulative,
                               highestSequence: highest, jitter: jitter, lastSR: lastSR, delaySinceLastSR: delay)
    }

    /// Writes the block; `cumulativeLost` is clamped to 24 bits signed.
    func write(into buffer: inout ByteBuffer) {
        let lost = min(max(cumulativeLost, -0x80_0000), 0x7F_FFFF)
        buffer.writeInteger(ssrc)
        buffer.writeInteger(UInt32(fractionLost) << 24 | (UInt32(bitPattern: lost) & 0xFF_FFFF))
        buffer.writeInteger(highestSequence)
        buffer.writeInteger(jitter)
        buffer.writeInteger(lastSR)
        buffer.writeInteger(delaySinceLastSR)
    }
}

/// A sender report (RFC 3550 §6.4.1, packet type 200).
public struct RTCPSenderReport: Sendable, Equatable {
    public var ssrc: UInt32
    /// The 64-bit NTP time the report was made (`NTPTime.from(unixNanoseconds:)`).
    public var ntpTime: UInt64
    /// The RTP timestamp that corresponds to `ntpTime`.
    public var rtpTimestamp: UInt32
    public var packetCount: UInt32
    /// Payload octets sent.
    public var octetCount: UInt32
    /// At most 31 (more are not written).
    public var reports: [RTCPReportBlock]

    public init(ssrc: UInt32, ntpTime: UInt64, rtpTimestamp: UInt32, packetCount: UInt32, octetCount: UInt32,
                reports: [RTCPReportBlock] = []) {
        self.ssrc = ssrc
        self.ntpTime = ntpTime
        self.rtpTimestamp = rtpTimestamp
        self.packetCount = packetCount
        self.octetCount = octetCount
        self.reports = reports
    }
}

/// A receiver report (RFC 3550 §6.4.2, packet type 201).
public struct RTCPReceiverReport: Sendable, Equatable {
    public var ssrc: UInt32
    /// At most 31 (more are not written).
    public var reports: [RTCPReportBlock]

    public init(ssrc: UInt32, reports: [RTCPReportBlock] = []) {
        self.ssrc = ssrc
        self.reports = reports
    }
}
