import Events

/// One output of the ladder: its name (`720p`), picture size and bit rates.
public struct RenditionSpec: Sendable, Hashable {
    public var name: String
    public var width: Int
    public var height: Int
    /// Average, bits per second. VBV max rate is 1.5× this, with a buffer of the same size.
    public var bitRate: Int

    public var maxRate: Int { bitRate * 3 / 2 }
    public var bufferSize: Int { maxRate }
}

/// The renditions a source gets: the channel's selection, on the seed system's templates,
/// never above the source's height, aspect ratio kept, even dimensions.
public enum RenditionLadder {
    static func template(_ rendition: StreamChannel.Rendition) -> (height: Int, bitRate: Int) {
        (rendition.height, rendition.bitRate)
    }

    /// The ladder for a `sourceWidth`×`sourceHeight` source, lowest first. A source smaller than
    /// every selected rendition gets the lowest one at its own size, so it still plays.
    public static func plan(_ selected: [StreamChannel.Rendition], sourceWidth: Int, sourceHeight: Int) -> [RenditionSpec] {
        let renditions = Array(Set(selected)).sorted()
        guard sourceWidth > 0, sourceHeight > 0, let lowest = renditions.first else { return [] }
        let fitting = renditions.filter { template($0).height <= sourceHeight }
        if fitting.isEmpty {
            return [RenditionSpec(name: lowest.rawValue, width: even(Double(sourceWidth)), height: even(Double(sourceHeight)),
                                  bitRate: template(lowest).bitRate)]
        }
        return fitting.map { rendition in
            let (height, bitRate) = template(rendition)
            let width = even(Double(sourceWidth) * Double(height) / Double(sourceHeight))
            return RenditionSpec(name: rendition.rawValue, width: width, height: height, bitRate: bitRate)
        }
    }

    /// The nearest even number, at least 2 (4:2:0 needs even sizes).
    static func even(_ value: Double) -> Int {
        max(2, Int((value / 2).rounded()) * 2)
    }

    /// The single rendition of a watermarked source that is not transcoded: source size, a bit
    /// rate that scales with the picture (1080p's at 1920×1080).
    public static func watermarkedSource(width: Int, height: Int) -> RenditionSpec {
        let pixels = Double(width * height) / Double(1920 * 1080)
        return RenditionSpec(name: watermarkedName, width: even(Double(width)), height: even(Double(height)),
                             bitRate: max(300_000, Int(2_000_000 * pixels)))
    }

    /// The rendition name of a watermarked source without a ladder; playback serves it in the
    /// source's place (the channel policy's name for it).
    public static let watermarkedName = StreamChannel.watermarkedRendition
}
