@testable import Media
import NIOCore

/// Closed captions in video SEI: what ingest and the packagers read from every video frame.
enum CaptionTargets {
    static let all = [captionSEI]

    /// The first byte picks the codec (bit 0) and NAL length size (bits 1-2: 1, 2, 4, 3);
    /// the rest is read as one access unit, as one SEI NAL unit, as a T.35 payload and as an
    /// FLV video tag body, all into one `CaptionScanner` (which keeps DTVCC packets between).
    static let captionSEI = FuzzTarget("caption-sei", "CaptionSEI triples (access unit, SEI NAL, T.35) and CaptionScanner") { input in
        var input = input
        guard let mode = input.readInteger(as: UInt8.self) else { return }
        let codec: AnnexB.Codec = mode & 1 == 0 ? .h264 : .hevc
        let lengthSize = [1, 2, 4, 3][Int(mode >> 1 & 3)]
        var scanner = CaptionScanner()
        scanner.scan(accessUnit: input, lengthSize: lengthSize, codec: codec)
        scanner.take(CaptionSEI.triples(inSEI: input.readableBytesView, codec: codec))
        scanner.take(CaptionSEI.triples(inT35: ArraySlice(input.readableBytesView)))
        scanner.scan(videoTag: input)
        _ = scanner.channels.instreamIDs
        // The transcoder's writer: the input as cc_data, and put into the input as an access unit.
        if let nal = CaptionSEI.nalUnit(ccData: Array(input.readableBytesView.prefix(300)), codec: codec) {
            _ = CaptionSEI.inserting(nal, into: input, codec: codec)
        }
        _ = CaptionChannels(instreamIDs: [input.fuzzText])
    }
}
