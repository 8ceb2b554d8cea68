import NIOCore

/// What a datagram on a WebRTC port carries, told from its first two bytes (RFC 7983 §7,
/// with RFC 5761 §4 separating RTCP from RTP on a multiplexed port).
public enum PacketClass: Sendable, Equatable {
    case stun, dtls, rtp, rtcp, unknown

    /// Classifies by the first byte: 0–3 STUN, 20–63 DTLS, 128–191 RTP or RTCP; RTCP when the
    /// second byte (the RTCP packet type) is 192–223. Anything else, or fewer than two bytes for
    /// RTP/RTCP, is `.unknown`.
    public init(firstBytes buffer: ByteBuffer) {
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else {
            self = .unknown
            return
        }
        switch first {
        case 0...3: self = .stun
        case 20...63: self = .dtls
        case 128...191:
            guard let second = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self) else {
                self = .unknown
                return
            }
            self = (192...223).contains(second) ? .rtcp : .rtp
        default: self = .unknown
        }
    }
}
