/// Groups one peer's protected packets, laid end to end in one buffer, into UDP datagrams with
/// generic segmentation offload (Linux `UDP_SEGMENT`, "GSO"): the kernel cuts a datagram into
/// packets of its segment size, the last one possibly shorter, and takes the whole run through
/// its send path once. So a run of packets of one size (an H.264 frame's full FU-A fragments
/// are all 1210 bytes protected) and at most one shorter packet after them goes as one datagram;
/// anything else starts the next. With segmentation off every packet is its own datagram.
///
/// Feed the packets in order with `add`; each call returns the datagram the new packet could not
/// join (to send), and `finish` returns the last one.
struct SegmentedDatagrams {
    /// One datagram: `length` bytes from `offset` of the batch, holding `packets` packets; the
    /// segment size to send it with when it holds more than one.
    struct Datagram: Equatable {
        var offset: Int
        var length: Int
        var packets: Int
        var segmentSize: Int?
    }

    /// Segments in one datagram at most: the kernel's `UDP_MAX_SEGMENTS` (64 before Linux 6.9,
    /// 128 since; the smaller one holds everywhere).
    static let maxSegments = 64
    /// Bytes in one datagram at most: a UDP payload over IPv4 (65,535 less the IP and UDP
    /// headers) with room to spare.
    static let maxBytes = 65_000

    let segments: Bool
    private var current: Datagram?
    /// Whether the current datagram ended with a shorter packet (nothing may follow it).
    private var closed = false

    /// - Parameter segments: whether datagrams may hold more than one packet (GSO is available).
    init(segments: Bool) {
        self.segments = segments
    }

    /// Adds the packet of `length` bytes at `offset` (right after the previous one); returns the
    /// datagram it could not join, now complete.
    mutating func add(offset: Int, length: Int) -> Datagram? {
        if var datagram = current, joins(datagram, length: length) {
            closed = length < (datagram.segmentSize ?? datagram.length)
            datagram.segmentSize = datagram.segmentSize ?? datagram.length
            datagram.length += length
            datagram.packets += 1
            current = datagram
            return nil
        }
        let complete = current
        current = Datagram(offset: offset, length: length, packets: 1, segmentSize: nil)
        closed = false
        return complete
    }

    /// The last datagram, if any packet was added since the last one was returned.
    mutating func finish() -> Datagram? {
        defer { current = nil }
        return current
    }

    private func joins(_ datagram: Datagram, length: Int) -> Bool {
        let segment = datagram.segmentSize ?? datagram.length
        return segments && !closed && length > 0 && length <= segment && datagram.packets < Self.maxSegments
            && datagram.length + length <= Self.maxBytes
    }
}
