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

    public init(segmentSeconds: Double = 2, listSize: Int = 6, partSeconds: Double = 0.5,
                hls: Bool = true, llhls: Bool = true, dash: Bool = true, sourceRendition: String = "") {
        self.segmentSeconds = max(0.5, segmentSeconds)
        self.listSize = max(2, listSize)
        self.partSeconds = min(max(0.1, partSeconds), self.segmentSeconds)
        self.hls = hls
        self.llhls = llhls
        self.dash = dash
        self.sourceRendition = sourceRendition
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

    var makesCMAF: Bool { llhls || dash }
    var isEnabled: Bool { hls || makesCMAF }

    /// Segments the LL-HLS playlist and DASH window keep: enough that delta updates can skip
    /// (CAN-SKIP-UNTIL is six target durations), and never fewer than the classic list.
    var cmafWindow: Int { max(listSize, 12) }

    /// Segments kept after they leave every playlist, for players still fetching them.
    var retainedSegments: Int { max(listSize, makesCMAF ? cmafWindow : 0) + 3 }
}
