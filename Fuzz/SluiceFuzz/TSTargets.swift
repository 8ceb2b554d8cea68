@testable import Media
import NIOCore

/// MPEG-TS: the bytes an SRT publisher controls.
enum TSTargets {
    static let all = [demux]

    /// `MPEGTSDemuxer` over a transport stream fed in pieces whose size the input's length picks,
    /// then flushed; every tag it returns is inspected as ingest and the packagers would, and a
    /// tag's time must be one a media frame can carry.
    static let demux = FuzzTarget("ts-demux", "MPEGTSDemuxer.feed/flush, each FLV tag body inspected") { input in
        var demuxer = MPEGTSDemuxer(limits: .init(maxPESSize: 1 << 20))
        var tags: [DemuxedTag] = []
        for piece in RTMPTargets.split(input, size: 1 + input.readableBytes % 1316) {
            tags += demuxer.feed(piece)
        }
        tags += demuxer.flush()
        for tag in tags {
            precondition(tag.dts >= 0 && tag.dts <= 1 << 40, "demuxed time \(tag.dts) out of range")
            MediaTargets.inspect(tag.body, typeID: tag.type.rawValue)
        }
        precondition(demuxer.statistics.packets <= input.readableBytes / MPEGTSPacket.size, "more packets than bytes")
    }
}
