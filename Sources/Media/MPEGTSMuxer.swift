import NIOCore

/// An MPEG-2 transport stream muxer (ISO/IEC 13818-1) for one program with at most one video
/// (H.264 or HEVC) and one AAC audio elementary stream: PAT and PMT, PES packets with PTS/DTS,
/// PCR on the first packet of every video PES, and continuity counters that start again in every
/// segment (`writeTables` begins one): a segment's bytes depend on its own frames alone, so every
/// node packaging a stream writes it the same, and the first packet of each elementary stream in
/// a segment says so with its discontinuity indicator (§2.4.3.5). Timestamps are 90 kHz and wrap
/// at 33 bits.
public struct MPEGTSMuxer: Sendable {
    public static let packetSize = 188
    static let patPID: UInt16 = 0
    static let pmtPID: UInt16 = 0x1000
    static let videoPID: UInt16 = 0x100
    static let audioPID: UInt16 = 0x101

    public enum VideoStream: UInt8, Sendable {
        case h264 = 0x1B
        case hevc = 0x24
    }

    private let video: VideoStream?
    private let hasAudio: Bool
    private var continuity: [UInt16: UInt8] = [:]
    /// Elementary streams whose next packet is their first in the segment.
    private var startingStreams: Set<UInt16> = []

    public init(video: VideoStream?, hasAudio: Bool) {
        self.video = video
        self.hasAudio = hasAudio
    }

    private var pcrPID: UInt16 { video != nil ? Self.videoPID : Self.audioPID }

    /// PAT and PMT, which begin a segment: write them first in every segment so each one is
    /// decodable alone. Continuity counters start again from here.
    public mutating func writeTables(into buffer: inout ByteBuffer) {
        continuity = [:]
        startingStreams = [Self.videoPID, Self.audioPID]
        let pat: [UInt8] = [0x00, 0x01, 0xC1, 0x00, 0x00, 0x00, 0x01,
                            0xE0 | UInt8(Self.pmtPID >> 8), UInt8(Self.pmtPID & 0xFF)]
        writeSection(tableID: 0x00, body: pat, pid: Self.patPID, into: &buffer)
        var pmt: [UInt8] = [0x00, 0x01, 0xC1, 0x00, 0x00, 0xE0 | UInt8(pcrPID >> 8), UInt8(pcrPID & 0xFF), 0xF0, 0x00]
        if let video { pmt += [video.rawValue, 0xE0 | UInt8(Self.videoPID >> 8), UInt8(Self.videoPID & 0xFF), 0xF0, 0x00] }
        if hasAudio { pmt += [0x0F, 0xE0 | UInt8(Self.audioPID >> 8), UInt8(Self.audioPID & 0xFF), 0xF0, 0x00] }
        writeSection(tableID: 0x02, body: pmt, pid: Self.pmtPID, into: &buffer)
    }

    /// One video access unit (Annex B, see `AnnexB`) as one PES packet.
    public mutating func writeVideo(_ accessUnit: ByteBuffer, pts: Int64, dts: Int64, isKeyframe: Bool,
                                    into buffer: inout ByteBuffer) {
        let header = Self.pesHeader(streamID: 0xE0, payloadLength: accessUnit.readableBytes, pts: pts, dts: dts)
        writePES(header: header, payload: accessUnit, pid: Self.videoPID, pcr: dts, randomAccess: isKeyframe, into: &buffer)
    }

    /// One ADTS frame as one PES packet. Carries the PCR when the program has no video.
    public mutating func writeAudio(_ adtsFrame: ByteBuffer, pts: Int64, into buffer: inout ByteBuffer) {
        let header = Self.pesHeader(streamID: 0xC0, payloadLength: adtsFrame.readableBytes, pts: pts, dts: nil)
        writePES(header: header, payload: adtsFrame, pid: Self.audioPID, pcr: video == nil ? pts : nil,
                 randomAccess: video == nil, into: &buffer)
    }

    private mutating func writeSection(tableID: UInt8, body: [UInt8], pid: UInt16, into buffer: inout ByteBuffer) {
        let length = body.count + 4
        var section: [UInt8] = [tableID, 0xB0 | UInt8(length >> 8), UInt8(length & 0xFF)] + body
        let crc = CRC32MPEG2.checksum(section)
        section += [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
        writePacketHeader(pid: pid, payloadStart: true, adaptation: nil, into: &buffer)
        buffer.writeInteger(UInt8(0))
        buffer.writeBytes(section)
        buffer.writeRepeatingByte(0xFF, count: Self.packetSize - 5 - section.count)
    }

    private mutating func writePES(header: [UInt8], payload: ByteBuffer, pid: UInt16, pcr: Int64?, randomAccess: Bool,
                                   into buffer: inout ByteBuffer) {
        var remaining = payload
        var pendingHeader = header
        var first = true
        while first || remaining.readableBytes > 0 {
            let available = pendingHeader.count + remaining.readableBytes
            var adaptation = AdaptationField(pcr: first ? pcr : nil, randomAccess: first && randomAccess,
                                             discontinuity: startingStreams.remove(pid) != nil)
            adaptation.stuffToFit(payload: available)
            writePacketHeader(pid: pid, payloadStart: first, adaptation: adaptation, into: &buffer)
            var room = Self.packetSize - 4 - adaptation.length
            buffer.writeBytes(pendingHeader)
            room -= pendingHeader.count
            pendingHeader = []
            if let slice = remaining.readSlice(length: min(room, remaining.readableBytes)) { buffer.writeImmutableBuffer(slice) }
            first = false
        }
    }

    private mutating func writePacketHeader(pid: UInt16, payloadStart: Bool, adaptation: AdaptationField?,
                                            into buffer: inout ByteBuffer) {
        let counter = continuity[pid, default: 0]
        continuity[pid] = (counter + 1) & 0x0F
        let control: UInt8 = adaptation.map { $0.length > 0 ? 0x30 : 0x10 } ?? 0x10
        buffer.writeBytes([0x47, (payloadStart ? 0x40 : 0) | UInt8(pid >> 8 & 0x1F), UInt8(pid & 0xFF), control | counter])
        adaptation?.write(into: &buffer)
    }

    /// `00 00 01`, stream id, length, flags, PTS and (when it differs) DTS (§2.4.3.6).
    static func pesHeader(streamID: UInt8, payloadLength: Int, pts: Int64, dts: Int64?) -> [UInt8] {
        let withDTS = dts != nil && dts != pts
        let headerData = withDTS ? 10 : 5
        let length = payloadLength + 3 + headerData
        // Video PES may be longer than the 16-bit field; 0 means "unbounded" (§2.4.3.7).
        let lengthField = length > 0xFFFF ? 0 : length
        var header: [UInt8] = [0, 0, 1, streamID, UInt8(lengthField >> 8), UInt8(lengthField & 0xFF), 0x80,
                               withDTS ? 0xC0 : 0x80, UInt8(headerData)]
        header += timestamp(pts, prefix: withDTS ? 0x3 : 0x2)
        if withDTS, let dts { header += timestamp(dts, prefix: 0x1) }
        return header
    }

    private static func timestamp(_ value: Int64, prefix: UInt8) -> [UInt8] {
        let time = UInt64(bitPattern: value) & 0x1_FFFF_FFFF
        return [prefix << 4 | UInt8(time >> 29 & 0x0E) | 1, UInt8(time >> 22 & 0xFF), UInt8(time >> 14 & 0xFE) | 1,
                UInt8(time >> 7 & 0xFF), UInt8(time << 1 & 0xFE) | 1]
    }
}

/// The adaptation field of one TS packet: PCR, random access, and stuffing (§2.4.3.4).
private struct AdaptationField {
    var pcr: Int64?
    var randomAccess: Bool
    /// The continuity counter starts again here.
    var discontinuity: Bool
    /// Bytes the field takes in the packet, its length byte included; 0 when there is none.
    private(set) var length: Int

    init(pcr: Int64?, randomAccess: Bool, discontinuity: Bool = false) {
        self.pcr = pcr
        self.randomAccess = randomAccess
        self.discontinuity = discontinuity
        length = pcr != nil ? 8 : (randomAccess || discontinuity ? 2 : 0)
    }

    /// Grows the field with stuffing so `payload` bytes exactly fill the packet when they are
    /// fewer than its room.
    mutating func stuffToFit(payload: Int) {
        let room = MPEGTSMuxer.packetSize - 4 - length
        if payload < room { length += room - payload }
    }

    func write(into buffer: inout ByteBuffer) {
        guard length > 0 else { return }
        buffer.writeInteger(UInt8(length - 1))
        guard length > 1 else { return }
        buffer.writeInteger((discontinuity ? 0x80 : 0) | (randomAccess ? 0x40 : 0) | (pcr != nil ? 0x10 : 0) as UInt8)
        if let pcr {
            let base = UInt64(bitPattern: pcr) & 0x1_FFFF_FFFF
            buffer.writeBytes([UInt8(base >> 25 & 0xFF), UInt8(base >> 17 & 0xFF), UInt8(base >> 9 & 0xFF),
                               UInt8(base >> 1 & 0xFF), UInt8(base << 7 & 0x80) | 0x7E, 0x00])
        }
        buffer.writeRepeatingByte(0xFF, count: length - 2 - (pcr != nil ? 6 : 0))
    }
}
