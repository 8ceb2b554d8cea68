import Media
import NIOCore

/// The caption channels in each segment a timeline holds, so its playlists and manifests
/// describe the channels of the window they list, and every node that packages the same
/// segments describes the same channels (a DTVCC packet is read only within one segment,
/// so where a node started reading does not matter).
struct CaptionLedger: Sendable {
    private var scanner = CaptionScanner()
    /// By media sequence number; only numbers of segments still held.
    private var bySegment: [Int: CaptionChannels] = [:]
    private var segment: Int?

    /// Scans one video frame's NAL units (`data`, after the FLV video tag header) of `segment`.
    mutating func note(_ data: ByteBuffer, of tracks: TrackSet?, segment: Int?, held segments: [SegmentRecord]) {
        guard let segment, let (codec, lengthSize) = Self.format(of: tracks) else { return }
        if segment != self.segment {
            self.segment = segment
            scanner.resetPacket()
            let kept = Set(segments.map(\.mediaSequence))
            bySegment = bySegment.filter { kept.contains($0.key) && $0.key != segment }
        }
        scanner.resetChannels()
        scanner.scan(accessUnit: data, lengthSize: lengthSize, codec: codec)
        guard !scanner.channels.isEmpty else { return }
        bySegment[segment, default: CaptionChannels()].formUnion(scanner.channels)
    }

    /// The channels seen in any of `segments`.
    func channels(in segments: [SegmentRecord]) -> CaptionChannels {
        segments.reduce(CaptionChannels()) { $0.union(bySegment[$1.mediaSequence] ?? CaptionChannels()) }
    }

    private static func format(of tracks: TrackSet?) -> (AnnexB.Codec, Int)? {
        switch tracks?.video?.codec {
        case .avc(let config): return (.h264, config.nalLengthSize)
        case .hevc(let config): return (.hevc, config.nalLengthSize)
        default: return nil
        }
    }
}
