import NIOCore

/// One 188-byte transport stream packet, read: its header (ISO/IEC 13818-1 §2.4.3.2), the
/// flags of its adaptation field that matter to a demuxer (§2.4.3.4), and its payload as a slice
/// of the packet. PCR is not read: timing comes from PES timestamps alone.
struct MPEGTSPacket {
    static let size = 188
    static let syncByte: UInt8 = 0x47
    static let nullPID: UInt16 = 0x1FFF

    var pid: UInt16
    /// `payload_unit_start_indicator`: a PES packet or a PSI section (behind its pointer field)
    /// starts in this packet.
    var payloadUnitStart: Bool
    var continuityCounter: UInt8
    /// Whether the packet carries payload, which is what advances its continuity counter.
    var hasPayload: Bool
    /// The adaptation field's `discontinuity_indicator`: the counter may start again here.
    var discontinuity: Bool
    var payload: ByteBuffer

    /// Reads one packet of exactly `size` bytes starting with the sync byte; nil when the
    /// transport error indicator is set, the adaptation field control is reserved (0) or the
    /// adaptation field's length does not fit in the packet.
    init?(_ packet: ByteBuffer) {
        let view = packet.readableBytesView
        guard view.count == Self.size, view[view.startIndex] == Self.syncByte else { return nil }
        let base = view.startIndex
        guard view[base + 1] & 0x80 == 0 else { return nil }
        pid = UInt16(view[base + 1] & 0x1F) << 8 | UInt16(view[base + 2])
        payloadUnitStart = view[base + 1] & 0x40 != 0
        continuityCounter = view[base + 3] & 0x0F
        let control = view[base + 3] >> 4 & 0x03
        guard control != 0 else { return nil }
        hasPayload = control & 0x01 != 0
        var payloadStart = 4
        discontinuity = false
        if control & 0x02 != 0 {
            // adaptation_field_length: 0...182 with payload, 183 without (§2.4.3.5).
            let length = Int(view[base + 4])
            guard length <= (hasPayload ? 182 : 183) else { return nil }
            if length > 0 { discontinuity = view[base + 5] & 0x80 != 0 }
            payloadStart = 5 + length
        }
        let payloadLength = hasPayload ? Self.size - payloadStart : 0
        guard let payload = packet.getSlice(at: packet.readerIndex + payloadStart, length: payloadLength) else { return nil }
        self.payload = payload
    }
}
