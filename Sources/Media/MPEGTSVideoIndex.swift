import NIOCore

/// Where the video access units of a single-program MPEG-2 transport stream sit (ISO/IEC
/// 13818-1): each PES packet of the program's H.264 or HEVC stream as the byte range of the TS
/// packets that carry it, from the packet that starts it (`payload_unit_start_indicator`) to the
/// last packet of that PID before the next one starts. I-frame playlists (RFC 8216 §4.3.3.6)
/// point into segments with these ranges.
///
/// Reads any bytes: packets that are not whole, not in sync or not of the video stream are
/// passed over, and every length is checked before it is used.
public enum MPEGTSVideoIndex {
    /// One video PES packet.
    public struct Unit: Sendable, Hashable {
        /// Byte offset of its first TS packet from the start of the stream; a multiple of 188.
        public var offset: Int
        /// Bytes from its first TS packet through its last; a multiple of 188.
        public var length: Int
        /// Its first packet's adaptation field sets `random_access_indicator` (§2.4.3.5): a
        /// keyframe as `MPEGTSMuxer` (and ffmpeg) write them.
        public var isRandomAccess: Bool
        /// PTS and DTS (90 kHz, 33 bits) from its PES header, when the header is whole in the
        /// first packet; DTS is the PTS when the header carries none.
        public var pts: Int64?
        public var dts: Int64?

        public var end: Int { offset + length }
    }

    static let videoStreamTypes: Set<UInt8> = [0x1B, 0x24]

    /// The video units of `ts` in order. Stops once `enough` holds for the units found so far
    /// (checked each time one is complete), so finding the first keyframe reads only up to it.
    public static func units(in ts: ByteBuffer, until enough: ([Unit]) -> Bool = { _ in false }) -> [Unit] {
        let view = ts.readableBytesView
        let packetSize = MPEGTSPacket.size
        var tables = ProgramTables()
        var videoPID: UInt16?
        var units: [Unit] = []
        var open: Unit?
        var offset = 0
        while offset + packetSize <= view.count {
            defer { offset += packetSize }
            guard let packet = ts.getSlice(at: ts.readerIndex + offset, length: packetSize), let parsed = MPEGTSPacket(packet)
            else { continue }
            if parsed.pid == 0 || parsed.pid == tables.pmtPID {
                if case .streams(let entries) = tables.read(parsed.payload, pid: parsed.pid, unitStart: parsed.payloadUnitStart) {
                    videoPID = entries.first { videoStreamTypes.contains($0.streamType) }?.pid
                }
                continue
            }
            guard parsed.pid == videoPID else { continue }
            if parsed.payloadUnitStart {
                if let done = open {
                    units.append(done)
                    open = nil
                    if enough(units) { return units }
                }
                let times = timestamps(parsed.payload)
                open = Unit(offset: offset, length: packetSize, isRandomAccess: randomAccess(packet),
                            pts: times?.pts, dts: times?.dts)
            } else if var unit = open {
                unit.length = offset + packetSize - unit.offset
                open = unit
            }
        }
        if let open { units.append(open) }
        return units
    }

    /// The first random-access unit and the first unit of all (to date the keyframe within the
    /// stream), reading no further than the keyframe.
    public static func firstKeyframe(in ts: ByteBuffer) -> (first: Unit, keyframe: Unit)? {
        let units = units(in: ts) { $0.last?.isRandomAccess == true }
        guard let first = units.first, let keyframe = units.first(where: \.isRandomAccess) else { return nil }
        return (first, keyframe)
    }

    /// Bytes of the PAT and PMT packets a segment written by `MPEGTSMuxer` opens with: its Media
    /// Initialization Section (RFC 8216 §3.2); 0 when it does not open with them.
    public static func tablesLength(in ts: ByteBuffer) -> Int {
        var length = 0
        let view = ts.readableBytesView
        while length + MPEGTSPacket.size <= view.count, view[view.startIndex + length] == MPEGTSPacket.syncByte {
            let pid = UInt16(view[view.startIndex + length + 1] & 0x1F) << 8 | UInt16(view[view.startIndex + length + 2])
            guard pid == 0 || pid == MPEGTSMuxer.pmtPID else { break }
            length += MPEGTSPacket.size
        }
        return length
    }

    /// `random_access_indicator` of a packet (already checked to be whole and in sync).
    private static func randomAccess(_ packet: ByteBuffer) -> Bool {
        let view = packet.readableBytesView
        let base = view.startIndex
        guard view[base + 3] & 0x20 != 0, view[base + 4] > 0 else { return false }
        return view[base + 5] & 0x40 != 0
    }

    /// PTS and DTS of the PES header at the start of `payload` (§2.4.3.6), if it is whole there.
    static func timestamps(_ payload: ByteBuffer) -> (pts: Int64, dts: Int64)? {
        let bytes = payload.readableBytesView
        let base = bytes.startIndex
        guard bytes.count >= 14, bytes[base] == 0, bytes[base + 1] == 0, bytes[base + 2] == 1 else { return nil }
        let flags = bytes[base + 7] >> 6
        let headerLength = Int(bytes[base + 8])
        guard flags & 0x2 != 0, headerLength >= 5, bytes.count >= 9 + headerLength else { return nil }
        let pts = timestamp(bytes, at: base + 9)
        guard flags == 0x3, headerLength >= 10 else { return (pts, pts) }
        return (pts, timestamp(bytes, at: base + 14))
    }

    private static func timestamp(_ bytes: ByteBufferView, at index: Int) -> Int64 {
        let high = Int64(bytes[index] >> 1 & 0x07) << 30
        let middle = (Int64(bytes[index + 1]) << 7 | Int64(bytes[index + 2] >> 1)) << 15
        return high | middle | Int64(bytes[index + 3]) << 7 | Int64(bytes[index + 4] >> 1)
    }

    /// `later - earlier` of two 33-bit timestamps, across one wrap.
    public static func ticks(from earlier: Int64, to later: Int64) -> Int64 {
        let modulus: Int64 = 1 << 33
        return ((later & (modulus - 1)) - (earlier & (modulus - 1)) + modulus) % modulus
    }
}
