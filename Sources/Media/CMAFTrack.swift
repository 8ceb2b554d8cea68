/// What an fMP4/CMAF track file needs to know about its one track (ISO/IEC 23000-19).
public struct CMAFTrack: Sendable, Hashable {
    public enum Codec: Sendable, Hashable {
        case avc(AVCConfiguration)
        case hevc(HEVCConfiguration)
        case aac(AACConfiguration)
    }

    public var codec: Codec
    /// Track id in `tkhd`, `tfhd` and `trex`. Each track file has one track; default 1.
    public var trackID: UInt32

    public init(codec: Codec, trackID: UInt32 = 1) {
        self.codec = codec
        self.trackID = trackID
    }

    public var isVideo: Bool {
        if case .aac = codec { return false }
        return true
    }

    /// 90 kHz for video, the sample rate for audio.
    public var timescale: UInt32 {
        if case .aac(let config) = codec { return UInt32(config.sampleRate) }
        return 90_000
    }

    /// RFC 6381 codec string for playlists and manifests.
    public var codecString: String {
        switch codec {
        case .avc(let config): return config.codecString
        case .hevc(let config): return config.codecString
        case .aac(let config): return config.codecString
        }
    }

    public var size: PictureSize? {
        switch codec {
        case .avc(let config): return PictureSize(width: config.width, height: config.height)
        case .hevc(let config): return PictureSize(width: config.width, height: config.height)
        case .aac: return nil
        }
    }
}

/// Width and height of coded pictures, in pixels.
public struct PictureSize: Sendable, Hashable {
    public var width: Int
    public var height: Int

    /// The widths and heights Sluice accepts from a parameter set or `onMetaData`, pixels:
    /// 1…16384 (H.264 level 6.2 and HEVC level 6.2 top out at 8192 × 4320 and 16888 wide).
    public static let dimensions = 1...16384

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }
}
