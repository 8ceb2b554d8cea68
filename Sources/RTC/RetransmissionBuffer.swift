import NIOCore

/// The packets a sender sent most recently, by 16-bit sequence number, to answer NACKs
/// (RFC 4585 §6.2.1) without copying: a ring of `capacity` slots, each overwritten
/// `capacity` sequence numbers later.
public struct RetransmissionBuffer: Sendable {
    private var slots: [(sequence: UInt16, packet: ByteBuffer)?]
    private let mask: Int

    /// - Parameter capacity: packets kept; rounded up to a power of two in 1…32768 (default 1024).
    public init(capacity: Int = 1024) {
        var size = 1
        while size < min(max(capacity, 1), 1 << 15) { size <<= 1 }
        slots = Array(repeating: nil, count: size)
        mask = size - 1
    }

    /// Slots in the ring.
    public var capacity: Int { slots.count }

    /// Keeps `packet` (a whole RTP packet, plain) as the one sent with `sequence`.
    public mutating func store(_ packet: ByteBuffer, sequence: UInt16) {
        slots[Int(sequence) & mask] = (sequence, packet)
    }

    /// The packet sent with `sequence`, nil when never stored or already overwritten.
    public func packet(sequence: UInt16) -> ByteBuffer? {
        guard let slot = slots[Int(sequence) & mask], slot.sequence == sequence else { return nil }
        return slot.packet
    }

    /// Forgets every packet (a new stream, a new sequence space).
    public mutating func removeAll() {
        for index in slots.indices { slots[index] = nil }
    }
}
