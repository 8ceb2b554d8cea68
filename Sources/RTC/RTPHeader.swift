import NIOCore

/// The fixed RTP header and what follows it up to the payload (RFC 3550 §5.1, header
/// extension §5.3.1), read in place: nothing is copied.
public struct RTPHeader: Sendable, Equatable {
    public var marker: Bool
    public var payloadType: UInt8
    public var sequenceNumber: UInt16
    public var timestamp: UInt32
    public var ssrc: UInt32
    /// CSRC identifiers after the fixed header (0–15).
    public var csrcCount: Int
    public var hasExtension: Bool
    /// The header extension's profile (0xBEDE one-byte, 0x100x two-byte, RFC 8285); 0 without one.
    public var extensionProfile: UInt16
    /// Bytes of the header extension's data (after its 4-byte profile/length word).
    public var extensionLength: Int
    /// Bytes from the packet's start to the payload: 12 + 4 × CSRCs + the extension.
    public var headerLength: Int
    /// Padding bytes at the packet's end (the last byte's count when P is set), 0 without.
    public var paddingLength: Int

    /// The fixed part (RFC 3550 §5.1).
    public static let fixedLength = 12

    /// Reads the header of the packet in `buffer` (its readable bytes): version 2, CSRCs,
    /// extension and padding inside the packet, the padding count at least 1 and no larger
    /// than what follows the header.
    public init(parsing buffer: ByteBuffer) throws(RTCError) {
        let start = buffer.readerIndex
        let size = buffer.readableBytes
        guard size >= Self.fixedLength, let first = buffer.getInteger(at: start, as: UInt8.self),
              let second = buffer.getInteger(at: start + 1, as: UInt8.self),
              let sequence = buffer.getInteger(at: start + 2, as: UInt16.self),
              let timestamp = buffer.getInteger(at: start + 4, as: UInt32.self),
              let ssrc = buffer.getInteger(at: start + 8, as: UInt32.self) else {
            throw RTCError("RTP packet shorter than 12 bytes")
        }
        guard first >> 6 == 2 else { throw RTCError("RTP version \(first >> 6), not 2") }
        marker = second & 0x80 != 0
        payloadType = second & 0x7F
        sequenceNumber = sequence
        self.timestamp = timestamp
        self.ssrc = ssrc
        csrcCount = Int(first & 0x0F)
        hasExtension = first & 0x10 != 0
        headerLength = Self.fixedLength + 4 * csrcCount
        extensionProfile = 0
        extensionLength = 0
        if hasExtension {
            guard let profile = buffer.getInteger(at: start + headerLength, as: UInt16.self),
                  let words = buffer.getInteger(at: start + headerLength + 2, as: UInt16.self) else {
                throw RTCError("RTP header extension runs past the packet")
            }
            extensionProfile = profile
            extensionLength = Int(words) * 4
            headerLength += 4 + extensionLength
        }
        guard headerLength <= size else { throw RTCError("RTP header (\(headerLength) bytes) runs past the packet (\(size))") }
        paddingLength = 0
        if first & 0x20 != 0 {
            let count = Int(buffer.getInteger(at: start + size - 1, as: UInt8.self) ?? 0)
            guard count >= 1, count <= size - headerLength else { throw RTCError("RTP padding of \(count) bytes does not fit") }
            paddingLength = count
        }
    }

    /// The CSRC at `index` (0..<csrcCount) of the packet this header was read from.
    public func csrc(at index: Int, in packet: ByteBuffer) -> UInt32? {
        guard index >= 0, index < csrcCount else { return nil }
        return packet.getInteger(at: packet.readerIndex + Self.fixedLength + 4 * index, as: UInt32.self)
    }

    /// The header extension's data (without its profile/length word) in the packet this header was read from.
    public func extensionData(in packet: ByteBuffer) -> ByteBuffer? {
        guard hasExtension else { return nil }
        return packet.getSlice(at: packet.readerIndex + headerLength - extensionLength, length: extensionLength)
    }
}
