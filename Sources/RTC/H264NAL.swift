import NIOCore

/// H.264 NAL unit types and RTP payload types Sluice reads (ITU-T H.264 table 7-1, RFC 6184 §5.2).
enum H264NAL {
    static let idr: UInt8 = 5
    static let sps: UInt8 = 7
    static let pps: UInt8 = 8
    static let accessUnitDelimiter: UInt8 = 9
    static let stapA: UInt8 = 24
    static let fuA: UInt8 = 28

    /// The type in a NAL header byte (low 5 bits).
    static func type(_ header: UInt8) -> UInt8 { header & 0x1F }

    /// The first byte of `unit` (its NAL header), nil when empty.
    static func header(_ unit: ByteBuffer) -> UInt8? {
        unit.getInteger(at: unit.readerIndex, as: UInt8.self)
    }
}
