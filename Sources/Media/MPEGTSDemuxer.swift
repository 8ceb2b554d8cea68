import NIOCore

/// One FLV tag's worth of media out of a transport stream: what an RTMP publisher would have
/// sent as a video (9) or audio (8) message, so ingest can hand it to the same path.
public struct DemuxedTag: Sendable, Hashable {
    /// `.video` or `.audio`.
    public var type: FLVTagType
    /// Decode time in milliseconds from the first timestamp of the stream, never negative.
    public var dts: Int64
    /// The FLV tag body (FLV spec E.4.2, E.4.3; enhanced RTMP for H.265).
    public var body: ByteBuffer

    public init(type: FLVTagType, dts: Int64, body: ByteBuffer) {
        self.type = type
        self.dts = dts
        self.body = body
    }
}

/// An MPEG-2 transport stream demuxer (ISO/IEC 13818-1) for the first program of a stream: H.264
/// (stream type 0x1B), H.265 (0x24) and AAC in ADTS (0x0F) become FLV tag bodies as an RTMP
/// publisher sends them — a sequence header before a stream's first frame and again when its
/// configuration changes, then one tag per access unit (video) or AAC frame (audio).
///
/// Bytes may be split anywhere across `feed` calls. Packets are 188 bytes; after bytes that are
/// not a packet the demuxer looks for a sync byte followed by another one 188 bytes later.
/// Timing comes from PES timestamps alone (PCR is ignored): the 33-bit 90 kHz PTS and DTS of all
/// streams are unwrapped into one 64-bit line and given in milliseconds from the first one seen.
/// A continuity-counter gap drops the PES packet it damaged, and demuxing goes on at the next one.
///
/// Not carried: Opus (stream type 0x06 with an `Opus` registration descriptor) — FLV, Enhanced
/// RTMP as `MediaTagInfo` reads it, `MediaFrame` and the packagers have no Opus — and every other
/// stream type, a second video or audio stream, and the program's other programs. Each such
/// stream is counted in `statistics.unsupportedStreams` (once per PMT version) and dropped.
///
/// Malformed input never traps: every length is checked where it is read and bounded by
/// `Limits`; what does not pass is dropped and counted in `statistics`.
public struct MPEGTSDemuxer: Sendable {
    /// Bounds on what the bytes may make the demuxer hold or do.
    public struct Limits: Sendable, Hashable {
        /// Largest PES packet gathered, header included (default 8 MiB); larger ones are dropped.
        public var maxPESSize: Int
        /// Most NAL units in one video access unit (default 1024).
        public var maxNALUnits: Int
        /// Most parameter sets of one type (SPS, PPS, VPS) in a configuration (default 16).
        public var maxParameterSets: Int
        /// Most elementary streams read from a PMT (default 16); the rest are unsupported.
        public var maxStreams: Int

        public init(maxPESSize: Int = 8 << 20, maxNALUnits: Int = 1024, maxParameterSets: Int = 16, maxStreams: Int = 16) {
            self.maxPESSize = max(maxPESSize, 6)
            self.maxNALUnits = max(maxNALUnits, 1)
            self.maxParameterSets = min(max(maxParameterSets, 1), 31)
            self.maxStreams = max(maxStreams, 1)
        }
    }

    /// Counters of what was read and what was dropped.
    public struct Statistics: Sendable, Hashable {
        /// 188-byte packets read.
        public var packets = 0
        /// Packets whose continuity counter skipped (outside a signalled discontinuity).
        public var continuityErrors = 0
        /// PES packets dropped: damaged by a gap, cut short, over `maxPESSize`, or unreadable.
        public var pesDropped = 0
        /// Elementary streams in a PMT that are not carried (see the type's summary).
        public var unsupportedStreams = 0
        /// Times the sync byte was lost and looked for again.
        public var resyncs = 0
        /// Packets refused: transport error indicator, reserved adaptation field control, or an
        /// adaptation field longer than the packet.
        public var malformedPackets = 0
        /// PAT or PMT sections refused: bad CRC, bad lengths.
        public var tablesDropped = 0
        /// Access units and AAC frames dropped: no configuration yet, or one that does not parse.
        public var framesDropped = 0

        public init() {}
    }

    public let limits: Limits
    public internal(set) var statistics = Statistics()
    var pending = ByteBuffer()
    var synced = true
    var tables = ProgramTables()
    var streams: [UInt16: ElementaryStream] = [:]
    var continuity: [UInt16: UInt8] = [:]
    var clock = MPEGTSClock()

    public init(limits: Limits = .init()) {
        self.limits = limits
    }

    /// The tags completed by these bytes, in the order their PES packets completed.
    public mutating func feed(_ bytes: ByteBuffer) -> [DemuxedTag] {
        var bytes = bytes
        pending.writeBuffer(&bytes)
        var tags: [DemuxedTag] = []
        while let packet = nextPacket() {
            handle(packet, into: &tags)
        }
        pending.discardReadBytes()
        return tags
    }

    /// Ends the input: the PES packets still open (a video PES of unbounded length ends only
    /// when the next one starts) are finished, and their tags returned.
    public mutating func flush() -> [DemuxedTag] {
        var tags: [DemuxedTag] = []
        for pid in streams.keys.sorted() {
            guard let outcome = streams[pid]?.assembler.flush() else { continue }
            finish(outcome, pid: pid, into: &tags)
        }
        return tags
    }

    /// The next 188 bytes that start with the sync byte, looking for sync again (a sync byte
    /// with another one a packet later) after bytes that are not a packet.
    private mutating func nextPacket() -> ByteBuffer? {
        while pending.readableBytes >= MPEGTSPacket.size {
            let start = pending.readerIndex
            if synced {
                if pending.getInteger(at: start, as: UInt8.self) == MPEGTSPacket.syncByte {
                    return pending.readSlice(length: MPEGTSPacket.size)
                }
                synced = false
                statistics.resyncs += 1
            }
            guard let offset = pending.readableBytesView.firstIndex(of: MPEGTSPacket.syncByte) else {
                pending.moveReaderIndex(to: pending.writerIndex)
                return nil
            }
            pending.moveReaderIndex(to: offset)
            guard let next = pending.getInteger(at: offset + MPEGTSPacket.size, as: UInt8.self) else { return nil }
            if next == MPEGTSPacket.syncByte {
                synced = true
            } else {
                pending.moveReaderIndex(forwardBy: 1)
            }
        }
        return nil
    }

    private mutating func handle(_ bytes: ByteBuffer, into tags: inout [DemuxedTag]) {
        statistics.packets += 1
        guard let packet = MPEGTSPacket(bytes) else {
            statistics.malformedPackets += 1
            return
        }
        let isTable = packet.pid == 0 || packet.pid == tables.pmtPID
        guard packet.pid != MPEGTSPacket.nullPID, isTable || streams[packet.pid] != nil else { return }
        guard packet.hasPayload, continues(packet) else { return }
        if isTable {
            read(tableData: packet)
        } else {
            guard let outcomes = streams[packet.pid]?.assembler.append(packet.payload, unitStart: packet.payloadUnitStart) else {
                return
            }
            for outcome in outcomes { finish(outcome, pid: packet.pid, into: &tags) }
        }
    }

    /// Checks the packet's continuity counter (§2.4.3.3): false for a duplicate, which is
    /// skipped; a gap is counted and drops what the PID was gathering.
    private mutating func continues(_ packet: MPEGTSPacket) -> Bool {
        defer { continuity[packet.pid] = packet.continuityCounter }
        guard let last = continuity[packet.pid], !packet.discontinuity else { return true }
        if packet.continuityCounter == last { return false }
        guard packet.continuityCounter != (last + 1) & 0x0F else { return true }
        statistics.continuityErrors += 1
        if packet.pid == 0 || packet.pid == tables.pmtPID {
            tables.abandonSection(pid: packet.pid)
        } else if streams[packet.pid]?.assembler.abandon() == true {
            statistics.pesDropped += 1
            streams[packet.pid]?.audio?.reset()
        }
        return true
    }

    private mutating func finish(_ outcome: PESAssembler.Outcome, pid: UInt16, into tags: inout [DemuxedTag]) {
        switch outcome {
        case .none: return
        case .dropped: statistics.pesDropped += 1
        case .complete(let bytes):
            guard let pes = PESPacket(bytes), let pts = pes.pts else {
                statistics.pesDropped += 1
                return
            }
            let dtsLine = clock.unwrap(pes.dts ?? pts)
            let ptsLine = pes.dts == nil ? dtsLine : clock.unwrap(pts)
            if streams[pid]?.audio != nil {
                readAudio(pes.payload, time: ptsLine, pid: pid, into: &tags)
            } else {
                readVideo(pes.payload, dts: dtsLine, pts: ptsLine, pid: pid, into: &tags)
            }
        }
    }
}
