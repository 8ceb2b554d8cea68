import Media
import NIOCore
import Packager

/// Trick play: the MPEG-TS index I-frame playlists are made from (any bytes a segment or an
/// archive could hold), and the sprite names a request path carries.
enum TrickPlayTargets {
    static let all = [videoIndex, thumbnailName]

    static let videoIndex = FuzzTarget("ts-video-index", "MPEGTSVideoIndex: video PES ranges, first keyframe, leading tables") { input in
        let units = MPEGTSVideoIndex.units(in: input)
        precondition(units.allSatisfy { $0.offset >= 0 && $0.length > 0 && $0.end <= input.readableBytes })
        _ = MPEGTSVideoIndex.firstKeyframe(in: input)
        precondition(MPEGTSVideoIndex.tablesLength(in: input) <= input.readableBytes)
        if let first = units.first?.dts, let last = units.last?.dts { _ = MPEGTSVideoIndex.ticks(from: first, to: last) }
    }

    static let thumbnailName = FuzzTarget("thumbnail-name", "ThumbnailSprite names (request paths) and stored file names") { input in
        let text = Substring(input.fuzzText)
        if let (number, layout) = ThumbnailSprite.parse(name: text) {
            let sprite = ThumbnailSprite(number: number, layout: layout, tileHeight: 90)
            precondition(ThumbnailSprite.parse(name: Substring(sprite.name))?.number == number)
            _ = (sprite.start, sprite.bandwidth, layout.tileHeight(width: 1920, height: 1080))
        }
        if let sprite = ThumbnailSprite(fileName: text) {
            _ = (sprite.start, sprite.width, sprite.height, sprite.bandwidth)
        }
    }
}
