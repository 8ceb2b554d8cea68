import Events

/// How one stream is packaged for HTTP playback. Comes from the channel's `hls` and `outputs`
/// settings; without a channel, everything is on with the defaults.
public struct PackagingConfiguration: Sendable, Hashable {
    /// Target segment duration, seconds; segments are cut at the first keyframe past it. Default 2.
    public var segmentSeconds: Double
    /// Segments listed in the classic HLS playlist. Default 6.
    public var listSize: Int
    /// LL-HLS part target, seconds. Default 0.5.
    public var partSeconds: Double
    /// Classic HLS (MPEG-TS segments).
    public var hls: Bool
    /// Low-latency HLS (CMAF parts).
    public var llhls: Bool
    /// DASH (the same CMAF segments).
    public var dash: Bool
    /// The rendition packaged at the stream's own URLs in place of its source (a watermarked
    /// copy); empty for the source itself.
    public var sourceRendition: String
    /// Bytes the part being filled may take in, all tracks together, before it is closed early.
    /// A frame counts its payload plus `frameOverhead`. Default 2 MiB (a 0.5 s part at 33 Mbit/s).
    public var maxPartBytes: Int
    /// Bytes the segment being filled may take in before a new one starts at the next frame,
    /// keyframe or not. Default 16 MiB (a 2 s segment at 67 Mbit/s); at least `maxPartBytes`.
    public var maxSegmentBytes: Int
    /// Bytes the stream's packaging may hold: every kept segment (MPEG-TS, CMAF parts and whole
    /// CMAF segments) and the part being filled, give or take the frame being taken; past it the
    /// oldest finished segments go before `retainedSegments` says. Default 256 MiB; at least
    /// 8 × `maxSegmentBytes`, so the newest finished segment and the open one always fit.
    public var maxWindowBytes: Int
    /// Frames in a row of the track that decides cuts (video, or audio without video) whose media
    /// time did not move forward; reaching it starts a new segment. Default 300 (10 s at 30 fps).
    /// Frozen or backwards timestamps would otherwise keep one part open forever.
    public var maxStalledFrames: Int
    /// The DVR window, seconds (the channel's `dvr.windowMinutes`; docs/DVR.md): playlists list
    /// this much before the newest segment, the older part from the asset store. 0: off.
    public var dvrWindowSeconds: Double = 0
    /// I-frame playlists and thumbnails (`TrickPlayConfiguration`).
    public var trickPlay = TrickPlayConfiguration()

    /// What a frame costs against the byte bounds beyond its payload: its sample entry, its
    /// `trun` line and the MPEG-TS packet and PES header it starts. Bounds floods of tiny frames.
    static let frameOverhead = 256

    public init(segmentSeconds: Double = 2, listSize: Int = 6, partSeconds: Double = 0.5,
                hls: Bool = true, llhls: Bool = true, dash: Bool = true, sourceRendition: String = "",
                maxPartBytes: Int = 2 << 20, maxSegmentBytes: Int = 16 << 20, maxWindowBytes: Int = 256 << 20,
                maxStalledFrames: Int = 300) {
        self.segmentSeconds = max(0.5, segmentSeconds)
        self.listSize = max(2, listSize)
        self.partSeconds = min(max(0.1, partSeconds), self.segmentSeconds)
        self.hls = hls
        self.llhls = llhls
        self.dash = dash
        self.sourceRendition = sourceRendition
        self.maxPartBytes = min(max(Self.frameOverhead, maxPartBytes), 1 << 40)
        self.maxSegmentBytes = min(max(self.maxPartBytes, maxSegmentBytes), 1 << 40)
        self.maxWindowBytes = min(max(8 * self.maxSegmentBytes, maxWindowBytes), 1 << 50)
        self.maxStalledFrames = max(2, maxStalledFrames)
    }

    /// How a transcoded rendition is packaged: as the stream, and always as classic HLS, which
    /// the ABR master playlist lists.
    var forRendition: PackagingConfiguration {
        var configuration = self
        configuration.hls = true
        configuration.sourceRendition = ""
        return configuration
    }

    /// Whether `resource` belongs to an output this stream has.
    public func serves(_ resource: PackagedResource) -> Bool {
        switch resource.output {
        case .hls: return hls
        case .llhls: return llhls
        case .dash: return dash
        case .cmaf: return makesCMAF
        }
    }

    /// Where a writer cuts this stream's segments (`SegmentCutter`).
    public var cutRules: SegmentCutter.Rules {
        SegmentCutter.Rules(segmentSeconds: segmentSeconds, maxSegmentBytes: maxSegmentBytes, maxStalledFrames: maxStalledFrames)
    }

    var makesCMAF: Bool { llhls || dash }
    var isEnabled: Bool { hls || makesCMAF }

    /// Segments the LL-HLS playlist and DASH window keep: enough that delta updates can skip
    /// (CAN-SKIP-UNTIL is six target durations), and never fewer than the classic list.
    var cmafWindow: Int { max(listSize, 12) }

    /// Segments kept after they leave every playlist, for players still fetching them.
    var retainedSegments: Int { max(listSize, makesCMAF ? cmafWindow : 0) + 3 }
}
