import NIOCore

/// An RTP packet: its header and its payload, a slice of the packet's buffer (RFC 3550 §5.1).
public struct RTPPacket: Sendable {
    public var header: RTPHeader
    /// The bytes between the header and the padding; shares the packet's storage.
    public var payload: ByteBuffer

    public init(header: RTPHeader, payload: ByteBuffer) {
        self.header = header
        self.payload = payload
    }

    /// Reads the header and slices the payload out of `buffer` (no copy).
    public init(parsing buffer: ByteBuffer) throws(RTCError) {
        header = try RTPHeader(parsing: buffer)
        let length = buffer.readableBytes - header.headerLength - header.paddingLength
        guard let payload = buffer.getSlice(at: buffer.readerIndex + header.headerLength, length: length) else {
            throw RTCError("RTP payload out of bounds")
        }
        self.payload = payload
    }

    /// Appends a packet with the 12-byte fixed header (version 2, no padding, extension or
    /// CSRCs) and `payload` to `buffer`.
    ///
    /// - Parameter payloadType: 0–127 (the top bit is the marker's, and is masked off).
    public static func write(marker: Bool, payloadType: UInt8, sequenceNumber: UInt16, timestamp: UInt32, ssrc: UInt32,
                             payload: ByteBuffer, into buffer: inout ByteBuffer) {
        buffer.reserveCapacity(minimumWritableBytes: RTPHeader.fixedLength + payload.readableBytes)
        buffer.writeInteger(UInt8(0x80))
        buffer.writeInteger((marker ? 0x80 : 0) | (payloadType & 0x7F))
        buffer.writeInteger(sequenceNumber)
        buffer.writeInteger(timestamp)
        buffer.writeInteger(ssrc)
        buffer.writeImmutableBuffer(payload)
    }

    /// Rewrites the payload type of the packet in `buffer` in place, keeping the marker bit
    /// (per viewer: one packet, each viewer's negotiated type). No-op on a buffer under 2 bytes.
    public static func setPayloadType(_ payloadType: UInt8, in buffer: inout ByteBuffer) {
        guard let second = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self) else { return }
        buffer.setInteger((second & 0x80) | (payloadType & 0x7F), at: buffer.readerIndex + 1)
    }

    /// Rewrites the sequence number of the packet in `buffer` in place (RTX-less retransmission
    /// keeps it; a rewriter may renumber). No-op on a buffer under 4 bytes.
    public static func setSequenceNumber(_ sequenceNumber: UInt16, in buffer: inout ByteBuffer) {
        guard buffer.readableBytes >= 4 else { return }
        buffer.setInteger(sequenceNumber, at: buffer.readerIndex + 2)
    }

    /// Rewrites the SSRC of the packet in `buffer` in place. No-op on a buffer under 12 bytes.
    public static func setSSRC(_ ssrc: UInt32, in buffer: inout ByteBuffer) {
        guard buffer.readableBytes >= RTPHeader.fixedLength else { return }
        buffer.setInteger(ssrc, at: buffer.readerIndex + 8)
    }
}
