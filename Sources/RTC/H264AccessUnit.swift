import NIOCore

/// One picture's NAL units as the depacketizer rebuilt them from RTP (RFC 6184).
public struct H264AccessUnit: Sendable {
    /// The RTP timestamp (90 kHz) its packets carried.
    public var timestamp: UInt32
    /// NAL units without start codes or length prefixes, in decoding order.
    public var nalUnits: [ByteBuffer]
    /// An IDR slice (type 5) is among the units.
    public var isKeyframe: Bool
    /// The newest sequence and picture parameter sets seen on the stream (in this unit or before).
    public var sps: ByteBuffer?
    public var pps: ByteBuffer?

    public init(timestamp: UInt32, nalUnits: [ByteBuffer], isKeyframe: Bool, sps: ByteBuffer?, pps: ByteBuffer?) {
        self.timestamp = timestamp
        self.nalUnits = nalUnits
        self.isKeyframe = isKeyframe
        self.sps = sps
        self.pps = pps
    }
}
