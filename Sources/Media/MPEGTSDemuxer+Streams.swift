import NIOCore

/// One elementary stream the demuxer carries: its PES packets being gathered and what turns
/// their payloads into FLV tag bodies.
struct ElementaryStream: Sendable {
    enum Kind: Equatable, Sendable {
        case h264
        case hevc
        case aac

        var isVideo: Bool { self != .aac }

        /// H.264 (0x1B), H.265 (0x24) and ADTS AAC (0x0F) (ISO/IEC 13818-1 Table 2-34); nil for
        /// the rest, Opus (0x06 with an `Opus` registration descriptor) among them.
        init?(streamType: UInt8) {
            switch streamType {
            case 0x1B: self = .h264
            case 0x24: self = .hevc
            case 0x0F: self = .aac
            default: return nil
            }
        }
    }

    var kind: Kind
    var assembler: PESAssembler
    var video: AnnexBVideoConverter?
    var audio: ADTSReader?
    /// The AudioSpecificConfig last sent as a sequence header.
    var audioConfig: [UInt8]?

    init(kind: Kind, limits: MPEGTSDemuxer.Limits) {
        self.kind = kind
        assembler = PESAssembler(maxSize: limits.maxPESSize)
        switch kind {
        case .h264, .hevc:
            video = AnnexBVideoConverter(codec: kind == .h264 ? .h264 : .hevc, maxUnits: limits.maxNALUnits,
                                         maxParameterSets: limits.maxParameterSets)
        case .aac:
            audio = ADTSReader()
        }
    }
}

extension MPEGTSDemuxer {
    /// The FLV sound byte for AAC: format 10, and the rate, size and type fields FLV requires for
    /// AAC whatever the stream is (44 kHz, 16-bit, stereo; FLV spec E.4.2.1).
    static let aacSoundByte: UInt8 = 0xAF

    mutating func read(tableData packet: MPEGTSPacket) {
        switch tables.read(packet.payload, pid: packet.pid, unitStart: packet.payloadUnitStart) {
        case .none: break
        case .refused: statistics.tablesDropped += 1
        case .newProgram: streams = [:]
        case .streams(let entries): carry(entries)
        }
    }

    /// Takes a new PMT's streams: the first video and first audio stream of a supported type;
    /// a stream whose PID and kind stay keeps what it was gathering.
    private mutating func carry(_ entries: [ProgramTables.Entry]) {
        var chosen: [UInt16: ElementaryStream] = [:]
        for (index, entry) in entries.enumerated() {
            let reserved = entry.pid == 0 || entry.pid == tables.pmtPID || entry.pid == MPEGTSPacket.nullPID
            guard index < limits.maxStreams, !reserved, chosen[entry.pid] == nil,
                  let kind = ElementaryStream.Kind(streamType: entry.streamType),
                  !chosen.values.contains(where: { $0.kind.isVideo == kind.isVideo }) else {
                statistics.unsupportedStreams += 1
                continue
            }
            if let existing = streams[entry.pid], existing.kind == kind {
                chosen[entry.pid] = existing
            } else {
                chosen[entry.pid] = ElementaryStream(kind: kind, limits: limits)
            }
        }
        streams = chosen
    }

    /// One video access unit: its sequence header first when the configuration changed.
    mutating func readVideo(_ payload: ByteBuffer, dts: Int64, pts: Int64, pid: UInt16, into tags: inout [DemuxedTag]) {
        let decodeTime = clock.milliseconds(dts)
        // Composition time is a signed 24-bit field (FLV spec E.4.3.1).
        let composition = min(max(clock.milliseconds(pts) - decodeTime, -(1 << 23)), (1 << 23) - 1)
        guard let output = streams[pid]?.video?.convert(payload, compositionTime: Int32(composition)) else { return }
        if output.dropped { statistics.framesDropped += 1 }
        if let header = output.sequenceHeader { tags.append(DemuxedTag(type: .video, dts: decodeTime, body: header)) }
        if let frame = output.frame { tags.append(DemuxedTag(type: .video, dts: decodeTime, body: frame)) }
    }

    /// The AAC frames of one PES payload, each a raw AAC tag, after a sequence header whenever
    /// the AudioSpecificConfig the ADTS headers describe changes.
    mutating func readAudio(_ payload: ByteBuffer, time: Int64, pid: UInt16, into tags: inout [DemuxedTag]) {
        guard let frames = streams[pid]?.audio?.frames(in: payload, time: time) else { return }
        for frame in frames {
            let decodeTime = clock.milliseconds(frame.time)
            if frame.config != streams[pid]?.audioConfig {
                guard (try? AACConfiguration(bytes: ByteBuffer(bytes: frame.config))) != nil else {
                    statistics.framesDropped += 1
                    continue
                }
                streams[pid]?.audioConfig = frame.config
                tags.append(DemuxedTag(type: .audio, dts: decodeTime, body: ByteBuffer(bytes: [Self.aacSoundByte, 0] + frame.config)))
            }
            var body = ByteBuffer()
            body.reserveCapacity(2 + frame.raw.readableBytes)
            body.writeBytes([Self.aacSoundByte, 1])
            body.writeImmutableBuffer(frame.raw)
            tags.append(DemuxedTag(type: .audio, dts: decodeTime, body: body))
        }
    }
}
