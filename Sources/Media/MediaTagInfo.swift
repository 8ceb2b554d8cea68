import NIOCore

/// Video codecs Sluice recognises in FLV/RTMP video tags: the legacy codec ids (FLV spec
/// E.4.3.1) and the FourCCs of Enhanced RTMP (Veovera, enhanced-rtmp v1).
public enum VideoCodec: String, Sendable, Hashable, Codable {
    case h264 = "avc1"
    case hevc = "hvc1"
    case av1 = "av01"
    case vp9 = "vp09"
    case other
}

/// Audio codecs recognised in FLV/RTMP audio tags (FLV spec E.4.2.1).
public enum AudioCodec: String, Sendable, Hashable, Codable {
    case aac
    case mp3
    case other
}

/// What a video tag body says about itself: enough to route, cache and describe it, without
/// parsing the codec payload.
public struct VideoTagInfo: Sendable, Hashable {
    public var codec: VideoCodec
    public var isKeyframe: Bool
    /// An AVCDecoderConfigurationRecord / HEVC or AV1 configuration, not a picture.
    public var isSequenceHeader: Bool
    /// pts − dts in milliseconds (AVC/HEVC composition time).
    public var compositionTime: Int32
    /// Where the codec bytes (the configuration record, or length-prefixed NAL units) start in
    /// the tag body.
    public var dataOffset: Int
    /// Carries coded pictures (not a configuration, an end of sequence or metadata).
    public var isCodedFrame: Bool

    /// Reads the first bytes of a video tag body (E.4.3.1; enhanced RTMP `IsExHeader`).
    public init(body: ByteBuffer) throws {
        guard let first = body.getInteger(at: body.readerIndex, as: UInt8.self) else {
            throw MediaFormatError(.truncated, "empty video tag")
        }
        let isKeyframe = (first >> 4) & 0x07 == 1
        if first & 0x80 != 0 {
            try self.init(enhanced: body, packetType: first & 0x0F, isKeyframe: isKeyframe)
        } else {
            try self.init(legacy: body, codecID: first & 0x0F, isKeyframe: isKeyframe)
        }
    }

    private init(legacy body: ByteBuffer, codecID: UInt8, isKeyframe: Bool) throws {
        self.isKeyframe = isKeyframe
        codec = codecID == 7 ? .h264 : (codecID == 12 ? .hevc : .other)
        dataOffset = 5
        guard codec != .other else {
            isSequenceHeader = false
            isCodedFrame = false
            compositionTime = 0
            return
        }
        guard body.readableBytes >= 5 else { throw MediaFormatError(.truncated, "AVC video tag header") }
        let packetType = body.getInteger(at: body.readerIndex + 1, as: UInt8.self)
        isSequenceHeader = packetType == 0
        isCodedFrame = packetType == 1
        compositionTime = Self.compositionTime(body, at: body.readerIndex + 2)
    }

    private init(enhanced body: ByteBuffer, packetType: UInt8, isKeyframe: Bool) throws {
        guard body.readableBytes >= 5, let fourCC = body.getString(at: body.readerIndex + 1, length: 4) else {
            throw MediaFormatError(.truncated, "enhanced RTMP video header")
        }
        codec = VideoCodec(rawValue: fourCC) ?? .other
        self.isKeyframe = isKeyframe
        // Packet types: 0 sequence start, 1 coded frames, 3 coded frames with cts = 0 (enhanced-rtmp §2.2).
        isSequenceHeader = packetType == 0
        isCodedFrame = packetType == 1 || packetType == 3
        // Only AVC and HEVC carry a composition time in CodedFrames (enhanced-rtmp v2 §2.2.1).
        if packetType == 1, codec == .hevc || codec == .h264 {
            guard body.readableBytes >= 8 else { throw MediaFormatError(.truncated, "enhanced RTMP composition time") }
            compositionTime = Self.compositionTime(body, at: body.readerIndex + 5)
            dataOffset = 8
        } else {
            compositionTime = 0
            dataOffset = 5
        }
    }

    private static func compositionTime(_ body: ByteBuffer, at index: Int) -> Int32 {
        guard var view = body.getSlice(at: index, length: 3), let raw = view.readUInt24() else { return 0 }
        return Int32(bitPattern: raw << 8) >> 8
    }
}

/// What an audio tag body says about itself.
public struct AudioTagInfo: Sendable, Hashable {
    public var codec: AudioCodec
    /// An AudioSpecificConfig, not a frame.
    public var isSequenceHeader: Bool

    public init(body: ByteBuffer) throws {
        guard let first = body.getInteger(at: body.readerIndex, as: UInt8.self) else {
            throw MediaFormatError(.truncated, "empty audio tag")
        }
        switch first >> 4 {
        case 10: codec = .aac
        case 2: codec = .mp3
        default: codec = .other
        }
        if codec == .aac {
            guard let packetType = body.getInteger(at: body.readerIndex + 1, as: UInt8.self) else {
                throw MediaFormatError(.truncated, "AAC audio tag header")
            }
            isSequenceHeader = packetType == 0
        } else {
            isSequenceHeader = false
        }
    }
}
