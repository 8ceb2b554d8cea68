import NIOCore

/// Gathers the payloads of one elementary stream's TS packets into whole PES packets
/// (ISO/IEC 13818-1 §2.4.3.6). A PES packet starts in a packet with `payload_unit_start_indicator`
/// and ends where its `PES_packet_length` says, or, when that is 0 (unbounded, as video PES
/// packets often are), at the next start.
struct PESAssembler {
    /// What one packet's payload finished.
    enum Outcome: Equatable {
        case none
        /// A whole PES packet, from its start code.
        case complete(ByteBuffer)
        /// A PES packet cut short (the next one began first) or over the size limit.
        case dropped
    }

    private let maxSize: Int
    private var buffer: ByteBuffer?
    /// 6 + `PES_packet_length`, once those bytes are in and the field is not 0.
    private var expectedSize: Int?

    init(maxSize: Int) {
        self.maxSize = maxSize
    }

    /// Adds one packet's payload; may end the PES packet before it (a new one starts here) and
    /// the new one (its length reached), so up to two outcomes.
    mutating func append(_ payload: ByteBuffer, unitStart: Bool) -> [Outcome] {
        var outcomes: [Outcome] = []
        if unitStart {
            if let ended = finishUnbounded() { outcomes.append(ended) }
            buffer = ByteBuffer()
            expectedSize = nil
        }
        guard buffer != nil else { return outcomes }
        guard let size = buffer?.readableBytes, payload.readableBytes <= maxSize - size else {
            abandon()
            outcomes.append(.dropped)
            return outcomes
        }
        buffer?.writeImmutableBuffer(payload)
        if let done = finishBounded() { outcomes.append(done) }
        return outcomes
    }

    /// Drops the packet being gathered (a continuity gap damaged it); true when there was one.
    @discardableResult
    mutating func abandon() -> Bool {
        defer {
            buffer = nil
            expectedSize = nil
        }
        return buffer != nil
    }

    /// Ends the packet being gathered at the end of the input: whole when unbounded, else dropped.
    mutating func flush() -> Outcome {
        finishUnbounded() ?? .none
    }

    private mutating func finishUnbounded() -> Outcome? {
        guard let gathered = buffer else { return nil }
        buffer = nil
        defer { expectedSize = nil }
        let declared = Self.declaredSize(gathered)
        return declared == nil || declared == 0 ? .complete(gathered) : .dropped
    }

    private mutating func finishBounded() -> Outcome? {
        guard let gathered = buffer else { return nil }
        if expectedSize == nil, let declared = Self.declaredSize(gathered), declared > 0 {
            expectedSize = declared
        }
        guard let expectedSize, gathered.readableBytes >= expectedSize else { return nil }
        abandon()
        // Bytes after the declared end are stuffing or garbage; the declared length is the packet.
        return gathered.getSlice(at: gathered.readerIndex, length: expectedSize).map { .complete($0) } ?? .dropped
    }

    /// 6 + `PES_packet_length`, 0 when the field says unbounded, nil before 6 bytes are in.
    private static func declaredSize(_ buffer: ByteBuffer) -> Int? {
        guard let length = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt16.self) else { return nil }
        return length == 0 ? 0 : 6 + Int(length)
    }
}

/// A PES packet's header fields a demuxer needs (ISO/IEC 13818-1 §2.4.3.6, §2.4.3.7) and its
/// payload. Timestamps are the raw 33-bit 90 kHz values.
struct PESPacket {
    var streamID: UInt8
    var pts: UInt64?
    var dts: UInt64?
    var payload: ByteBuffer

    /// nil for bytes that are not a PES packet with the optional header (start code, marker
    /// bits, a header length that fits) or whose `PTS_DTS_flags` are the forbidden `01`.
    init?(_ packet: ByteBuffer) {
        let view = packet.readableBytesView
        let base = view.startIndex
        guard view.count >= 9, view[base] == 0, view[base + 1] == 0, view[base + 2] == 1,
              view[base + 6] & 0xC0 == 0x80 else { return nil }
        streamID = view[base + 3]
        let flags = view[base + 7] >> 6
        let headerEnd = 9 + Int(view[base + 8])
        guard flags != 1, headerEnd <= view.count else { return nil }
        let timestampBytes = flags == 3 ? 10 : (flags == 2 ? 5 : 0)
        guard 9 + timestampBytes <= headerEnd else { return nil }
        pts = flags & 0x02 != 0 ? Self.timestamp(view, at: base + 9) : nil
        dts = flags == 3 ? Self.timestamp(view, at: base + 14) : nil
        guard let payload = packet.getSlice(at: packet.readerIndex + headerEnd, length: view.count - headerEnd) else { return nil }
        self.payload = payload
    }

    /// The 33 bits of a PTS or DTS field, marker bits skipped (§2.4.3.7).
    private static func timestamp(_ view: ByteBufferView, at index: Int) -> UInt64 {
        UInt64(view[index] >> 1 & 0x07) << 30 | UInt64(view[index + 1]) << 22 | UInt64(view[index + 2] >> 1) << 15
            | UInt64(view[index + 3]) << 7 | UInt64(view[index + 4] >> 1)
    }
}

/// Turns 33-bit 90 kHz timestamps, which wrap about every 26.5 hours, into one 64-bit line:
/// each value is placed within 2³² ticks of the last one seen, so a wrap reads as a step
/// forward. Milliseconds are counted from the first value placed.
struct MPEGTSClock {
    private static let wrap: Int64 = 1 << 33
    /// Bound on the line, far beyond any real stream, so hostile jumps cannot overflow it.
    private static let bound: Int64 = 1 << 60
    private var last: Int64?
    private(set) var origin: Int64?

    /// The unwrapped value of a raw 33-bit timestamp.
    mutating func unwrap(_ raw: UInt64) -> Int64 {
        let value = Int64(raw & UInt64(Self.wrap - 1))
        guard let last else {
            self.last = value
            origin = value
            return value
        }
        var delta = (value - last % Self.wrap + Self.wrap) % Self.wrap
        if delta >= Self.wrap / 2 { delta -= Self.wrap }
        let placed = min(max(last + delta, -Self.bound), Self.bound)
        self.last = placed
        return placed
    }

    /// Milliseconds from the origin, floored; never negative (a value before the origin is
    /// time 0) and at most 2⁴⁰, the range media frames carry.
    func milliseconds(_ ticks: Int64) -> Int64 {
        let elapsed = ticks - (origin ?? ticks)
        guard elapsed > 0 else { return 0 }
        return min(elapsed / 90, 1 << 40)
    }
}
