import NIOCore

/// One RTCP packet of a compound packet (RFC 3550 §6, RFC 4585 §6, RFC 5104 §4.3.1): the
/// kinds WebRTC playback and ingest act on; any other is reported by its type and skipped.
public enum RTCPPacket: Sendable, Equatable {
    case senderReport(RTCPSenderReport)
    case receiverReport(RTCPReceiverReport)
    case nack(RTCPNack)
    /// Picture loss indication (PT 206 FMT 1, RFC 4585 §6.3.1).
    case pli(senderSSRC: UInt32, mediaSSRC: UInt32)
    /// Full intra request (PT 206 FMT 4, RFC 5104 §4.3.1); `mediaSSRC` from its first FCI entry.
    case fir(senderSSRC: UInt32, mediaSSRC: UInt32)
    case bye([UInt32])
    /// Another type (SDES, APP, transport-cc, REMB, …), or 205/206 with another FMT.
    case other(packetType: UInt8)

    /// Packets read at most from one compound packet.
    public static let maxPackets = 64

    /// Packet types (RFC 3550 §12.1, RFC 4585 §6.1).
    enum PacketType {
        static let senderReport: UInt8 = 200, receiverReport: UInt8 = 201, bye: UInt8 = 203
        static let transportFeedback: UInt8 = 205, payloadFeedback: UInt8 = 206
    }

    /// Reads every packet of a compound (or reduced-size, RFC 5506) RTCP packet: version 2,
    /// each length inside the buffer, padding inside its packet, at most `maxPackets`.
    public static func parseCompound(_ buffer: ByteBuffer) throws(RTCError) -> [RTCPPacket] {
        var input = buffer
        var packets: [RTCPPacket] = []
        guard input.readableBytes >= 4 else { throw RTCError("RTCP packet shorter than 4 bytes") }
        while input.readableBytes > 0 {
            guard packets.count < maxPackets else { throw RTCError("RTCP compound packet has over \(maxPackets) packets") }
            guard let first = input.readInteger(as: UInt8.self), let type = input.readInteger(as: UInt8.self),
                  let words = input.readInteger(as: UInt16.self) else {
                throw RTCError("RTCP header runs past the packet")
            }
            guard first >> 6 == 2 else { throw RTCError("RTCP version \(first >> 6), not 2") }
            guard var body = input.readSlice(length: Int(words) * 4) else {
                throw RTCError("RTCP length \(words) words runs past the packet")
            }
            if first & 0x20 != 0 {
                let padding = Int(body.getInteger(at: body.writerIndex - 1, as: UInt8.self) ?? 0)
                guard padding >= 1, padding <= body.readableBytes else { throw RTCError("RTCP padding of \(padding) bytes does not fit") }
                body.moveWriterIndex(to: body.writerIndex - padding)
            }
            packets.append(try read(type: type, count: Int(first & 0x1F), body: &body))
        }
        return packets
    }

    private static func read(type: UInt8, count: Int, body: inout ByteBuffer) throws(RTCError) -> RTCPPacket {
        switch type {
        case PacketType.senderReport:
            guard let ssrc = body.readInteger(as: UInt32.self), let ntp = body.readInteger(as: UInt64.self),
                  let rtp = body.readInteger(as: UInt32.self), let packets = body.readInteger(as: UInt32.self),
                  let octets = body.readInteger(as: UInt32.self) else { throw RTCError("RTCP sender report shorter than 24 bytes") }
            let blocks = try readBlocks(count, &body)
            return .senderReport(RTCPSenderReport(ssrc: ssrc, ntpTime: ntp, rtpTimestamp: rtp, packetCount: packets,
                                                  octetCount: octets, reports: blocks))
        case PacketType.receiverReport:
            guard let ssrc = body.readInteger(as: UInt32.self) else { throw RTCError("RTCP receiver report without its SSRC") }
            return .receiverReport(RTCPReceiverReport(ssrc: ssrc, reports: try readBlocks(count, &body)))
        case PacketType.bye:
            guard body.readableBytes >= 4 * count else { throw RTCError("RTCP BYE lists \(count) SSRCs it does not hold") }
            return .bye((0..<count).compactMap { _ in body.readInteger(as: UInt32.self) })
        case PacketType.transportFeedback, PacketType.payloadFeedback:
            guard let sender = body.readInteger(as: UInt32.self), let media = body.readInteger(as: UInt32.self) else {
                throw RTCError("RTCP feedback shorter than 8 bytes")
            }
            return readFeedback(type: type, format: count, sender: sender, media: media, fci: &body)
        default:
            return .other(packetType: type)
        }
    }

    private static func readBlocks(_ count: Int, _ body: inout ByteBuffer) throws(RTCError) -> [RTCPReportBlock] {
        guard body.readableBytes >= count * RTCPReportBlock.size else {
            throw RTCError("RTCP report lists \(count) blocks it does not hold")
        }
        return (0..<count).compactMap { _ in RTCPReportBlock.read(&body) }
    }

    private static func readFeedback(type: UInt8, format: Int, sender: UInt32, media: UInt32, fci: inout ByteBuffer) -> RTCPPacket {
        switch (type, format) {
        case (PacketType.transportFeedback, 1):
            return .nack(RTCPNack(senderSSRC: sender, mediaSSRC: media, lost: RTCPNack.lost(from: &fci)))
        case (PacketType.payloadFeedback, 1):
            return .pli(senderSSRC: sender, mediaSSRC: media)
        case (PacketType.payloadFeedback, 4):
            return .fir(senderSSRC: sender, mediaSSRC: fci.readInteger(as: UInt32.self) ?? media)
        default:
            return .other(packetType: type)
        }
    }
}
