import NIOCore

/// Turns Annex B access units (the payloads of H.264 and H.265 PES packets) into FLV video tag
/// bodies as an RTMP publisher sends them: NAL units behind 4-byte lengths, delimiters and filler
/// dropped, and the parameter sets gathered into a configuration record sent as a sequence
/// header before the first frame and again whenever they change. H.264 uses the legacy AVC
/// packet (FLV spec E.4.3.1); H.265 the enhanced RTMP form with FourCC `hvc1`.
struct AnnexBVideoConverter {
    struct Output {
        /// A sequence header to send before `frame`.
        var sequenceHeader: ByteBuffer?
        var frame: ByteBuffer?
        /// The access unit was refused: too many NAL units or parameter sets, a configuration
        /// that does not parse, or no configuration yet.
        var dropped = false
    }

    let codec: AnnexB.Codec
    let maxUnits: Int
    let maxParameterSets: Int
    /// The newest parameter sets seen, by NAL unit type.
    private var parameterSets: [UInt8: [[UInt8]]] = [:]
    /// The configuration record last sent.
    private var announced: [UInt8]?

    init(codec: AnnexB.Codec, maxUnits: Int, maxParameterSets: Int) {
        self.codec = codec
        self.maxUnits = maxUnits
        self.maxParameterSets = maxParameterSets
    }

    private var videoCodec: VideoCodec { codec == .h264 ? .h264 : .hevc }
    private var parameterSetTypes: [UInt8] { codec == .h264 ? [7, 8] : [32, 33, 34] }

    /// One access unit; `compositionTime` is pts − dts in milliseconds.
    mutating func convert(_ accessUnit: ByteBuffer, compositionTime: Int32) -> Output {
        let units = AnnexB.units(in: Array(accessUnit.readableBytesView))
        guard units.count <= maxUnits else { return Output(dropped: true) }
        var data = ByteBuffer()
        data.reserveCapacity(accessUnit.readableBytes + 4 * units.count)
        var found: [UInt8: [[UInt8]]] = [:]
        var isKeyframe = false
        for unit in units {
            let nal = Self.trimmingTrailingZeros(unit)
            guard let header = nal.first else { continue }
            let type = codec == .h264 ? header & 0x1F : header >> 1 & 0x3F
            if parameterSetTypes.contains(type) {
                found[type, default: []].append(Array(nal))
            } else if !isDiscarded(type) {
                isKeyframe = isKeyframe || isRandomAccess(type)
                data.writeInteger(UInt32(nal.count))
                data.writeBytes(nal)
            }
        }
        var output = Output()
        guard remember(found) else { return Output(dropped: true) }
        if !found.isEmpty || announced == nil {
            do {
                output.sequenceHeader = try configurationChange()
            } catch {
                // Frames after parameter sets that do not parse cannot be described: drop them
                // until a configuration that parses comes.
                announced = nil
                parameterSets = [:]
                return Output(dropped: true)
            }
        }
        guard data.readableBytes > 0 else { return output }
        guard announced != nil else { return Output(dropped: true) }
        output.frame = FLV.videoBody(codec: videoCodec, keyframe: isKeyframe, compositionTime: compositionTime, data: data)
        return output
    }

    /// Access unit delimiters and filler data (H.264 types 9 and 12; H.265 35 and 38).
    private func isDiscarded(_ type: UInt8) -> Bool {
        codec == .h264 ? type == 9 || type == 12 : type == 35 || type == 38
    }

    /// H.264 IDR slices (5); H.265 IRAP pictures, BLA, IDR and CRA (16...23, H.265 §7.4.2.2).
    private func isRandomAccess(_ type: UInt8) -> Bool {
        codec == .h264 ? type == 5 : (16...23).contains(type)
    }

    /// Takes the access unit's parameter sets as the newest of their type (repeats removed);
    /// false when one access unit carries more of one type than the limit allows.
    private mutating func remember(_ found: [UInt8: [[UInt8]]]) -> Bool {
        // Bounded before comparing, so a flood of parameter sets cannot make this quadratic.
        guard found.values.allSatisfy({ $0.count <= maxParameterSets }) else { return false }
        for (type, sets) in found {
            var unique: [[UInt8]] = []
            for set in sets where !unique.contains(set) { unique.append(set) }
            parameterSets[type] = unique
        }
        return true
    }

    /// A sequence header body when the parameter sets make a record other than the one last
    /// sent; throws when they do not make a record that parses.
    private mutating func configurationChange() throws -> ByteBuffer? {
        guard parameterSetTypes.allSatisfy({ parameterSets[$0]?.isEmpty == false }) else { return nil }
        let record = try makeRecord()
        guard record != announced else { return nil }
        if codec == .h264 {
            _ = try AVCConfiguration(record: ByteBuffer(bytes: record))
        } else {
            _ = try HEVCConfiguration(record: ByteBuffer(bytes: record))
        }
        announced = record
        return FLV.videoBody(codec: videoCodec, keyframe: true, sequenceHeader: true, data: ByteBuffer(bytes: record))
    }

    private func makeRecord() throws -> [UInt8] {
        if codec == .h264 {
            return try AVCConfiguration.record(sequenceParameterSets: parameterSets[7] ?? [], pictureParameterSets: parameterSets[8] ?? [])
        }
        let sps = parameterSets[33] ?? []
        let format = try HEVCConfiguration.sampleFormat(sps: sps.first ?? [])
        return try HEVCConfiguration.record(videoParameterSets: parameterSets[32] ?? [], sequenceParameterSets: sps,
                                            pictureParameterSets: parameterSets[34] ?? [],
                                            chromaFormat: format.chromaFormat, bitDepth: format.bitDepth)
    }

    /// A NAL unit without the `trailing_zero_8bits` of the byte stream (H.264 Annex B.1), which
    /// a NAL unit cannot end with (it ends in its RBSP stop bit or a `cabac_zero_word`'s 0x03).
    private static func trimmingTrailingZeros(_ unit: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var end = unit.endIndex
        while end > unit.startIndex, unit[end - 1] == 0 { end -= 1 }
        return unit[unit.startIndex..<end]
    }
}

extension HEVCConfiguration {
    /// `chroma_format_idc` and the luma bit depth of an SPS (H.265 §7.3.2.2.1), for an
    /// HEVCDecoderConfigurationRecord built from a byte stream's parameter sets.
    static func sampleFormat(sps: [UInt8]) throws -> (chromaFormat: UInt8, bitDepth: UInt8) {
        var reader = NALBitReader(nal: sps.dropFirst(2))
        try reader.skip(4)
        let subLayers = Int(try reader.bits(3))
        // temporal_id_nesting_flag, then general profile_tier_level (88 bits) and level (8).
        try reader.skip(1 + 96)
        var present: [(profile: Bool, level: Bool)] = []
        for _ in 0..<subLayers { present.append((try reader.flag(), try reader.flag())) }
        if subLayers > 0 { try reader.skip(2 * (8 - subLayers)) }
        for layer in present {
            if layer.profile { try reader.skip(88) }
            if layer.level { try reader.skip(8) }
        }
        _ = try reader.unsignedGolomb()
        let chromaFormat = try reader.unsignedGolomb(atMost: 3, "chroma_format_idc")
        if chromaFormat == 3 { try reader.skip(1) }
        _ = try reader.unsignedGolomb()
        _ = try reader.unsignedGolomb()
        if try reader.flag() {
            for _ in 0..<4 { _ = try reader.unsignedGolomb() }
        }
        // The record holds bit depth − 8 in 3 bits (ISO/IEC 14496-15 §8.3.3.1.2).
        let bitDepth = try reader.unsignedGolomb(atMost: 7, "bit_depth_luma_minus8") + 8
        return (UInt8(chromaFormat), UInt8(bitDepth))
    }
}
