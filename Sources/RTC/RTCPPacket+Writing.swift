import NIOCore

extension RTCPPacket {
    /// Appends the packet to `buffer` (no padding): report blocks and BYE SSRCs beyond 31 are
    /// left out; `.other` writes nothing. Several calls into one buffer make a compound packet.
    public func write(into buffer: inout ByteBuffer) {
        switch self {
        case .senderReport(let report):
            let blocks = report.reports.prefix(31)
            Self.writeHeader(count: blocks.count, type: PacketType.senderReport, bodyBytes: 24 + 24 * blocks.count, into: &buffer)
            buffer.writeInteger(report.ssrc)
            buffer.writeInteger(report.ntpTime)
            buffer.writeInteger(report.rtpTimestamp)
            buffer.writeInteger(report.packetCount)
            buffer.writeInteger(report.octetCount)
            blocks.forEach { $0.write(into: &buffer) }
        case .receiverReport(let report):
            let blocks = report.reports.prefix(31)
            Self.writeHeader(count: blocks.count, type: PacketType.receiverReport, bodyBytes: 4 + 24 * blocks.count, into: &buffer)
            buffer.writeInteger(report.ssrc)
            blocks.forEach { $0.write(into: &buffer) }
        case .nack(let nack):
            let entries = nack.entries.prefix(0x3FFF)
            Self.writeHeader(count: 1, type: PacketType.transportFeedback, bodyBytes: 8 + 4 * entries.count, into: &buffer)
            buffer.writeInteger(nack.senderSSRC)
            buffer.writeInteger(nack.mediaSSRC)
            for entry in entries {
                buffer.writeInteger(entry.pid)
                buffer.writeInteger(entry.blp)
            }
        case .pli(let sender, let media):
            Self.writeHeader(count: 1, type: PacketType.payloadFeedback, bodyBytes: 8, into: &buffer)
            buffer.writeInteger(sender)
            buffer.writeInteger(media)
        case .fir(let sender, let media):
            // RFC 5104 §4.3.1.1: media source SSRC 0, then one FCI entry (SSRC, sequence, reserved).
            Self.writeHeader(count: 4, type: PacketType.payloadFeedback, bodyBytes: 16, into: &buffer)
            buffer.writeInteger(sender)
            buffer.writeInteger(UInt32(0))
            buffer.writeInteger(media)
            buffer.writeInteger(UInt32(0))
        case .bye(let ssrcs):
            let listed = ssrcs.prefix(31)
            Self.writeHeader(count: listed.count, type: PacketType.bye, bodyBytes: 4 * listed.count, into: &buffer)
            listed.forEach { buffer.writeInteger($0) }
        case .other:
            return
        }
    }

    /// Writes a compound packet of `packets` into `buffer`.
    public static func writeCompound(_ packets: [RTCPPacket], into buffer: inout ByteBuffer) {
        packets.forEach { $0.write(into: &buffer) }
    }

    /// Version 2, no padding, the count/format, the type and the length in words minus one.
    private static func writeHeader(count: Int, type: UInt8, bodyBytes: Int, into buffer: inout ByteBuffer) {
        buffer.reserveCapacity(minimumWritableBytes: 4 + bodyBytes)
        buffer.writeInteger(UInt8(0x80 | (count & 0x1F)))
        buffer.writeInteger(type)
        buffer.writeInteger(UInt16(truncatingIfNeeded: bodyBytes / 4))
    }
}
