/// An HLS image media playlist (the Image Playlist convention Roku and Apple players read for
/// scrubbing thumbnails, `EXT-X-IMAGES-ONLY`): each entry one JPEG sprite of `LAYOUT` tiles,
/// each tile standing for `DURATION` seconds (`EXT-X-TILES`), listed in a multivariant playlist
/// with `EXT-X-IMAGE-STREAM-INF`.
public struct ImagePlaylist: Sendable, Hashable {
    public struct Sprite: Sendable, Hashable {
        public var uri: String
        /// Seconds the sprite stands for: tiles × tile duration.
        public var duration: Double
        /// One tile, pixels.
        public var tileSize: PictureSize
        public var columns: Int
        public var rows: Int
        /// Seconds each tile stands for.
        public var tileDuration: Double
        /// `EXT-X-DISCONTINUITY` before it.
        public var discontinuity: Bool
        /// Unix ms where its first tile starts (`EXT-X-PROGRAM-DATE-TIME`).
        public var programDate: Int64?

        public init(uri: String, duration: Double, tileSize: PictureSize, columns: Int, rows: Int, tileDuration: Double,
                    discontinuity: Bool = false, programDate: Int64? = nil) {
            self.uri = uri
            self.duration = duration
            self.tileSize = tileSize
            self.columns = columns
            self.rows = rows
            self.tileDuration = tileDuration
            self.discontinuity = discontinuity
            self.programDate = programDate
        }
    }

    public var mediaSequence: Int
    public var sprites: [Sprite]
    public var endList: Bool

    public init(mediaSequence: Int, sprites: [Sprite], endList: Bool = false) {
        self.mediaSequence = mediaSequence
        self.sprites = sprites
        self.endList = endList
    }

    public func render() -> String {
        let target = sprites.reduce(1) { max($0, Int($1.duration.rounded(.up))) }
        var lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-TARGETDURATION:\(target)", "#EXT-X-MEDIA-SEQUENCE:\(mediaSequence)",
                     "#EXT-X-IMAGES-ONLY"]
        for sprite in sprites {
            if sprite.discontinuity { lines.append("#EXT-X-DISCONTINUITY") }
            if let date = sprite.programDate { lines.append("#EXT-X-PROGRAM-DATE-TIME:\(UTCDate.string(unixMilliseconds: date))") }
            lines.append("#EXTINF:\(PlaylistNumber.fixed(sprite.duration, places: 3)),")
            lines.append("#EXT-X-TILES:RESOLUTION=\(sprite.tileSize.width)x\(sprite.tileSize.height),LAYOUT=\(sprite.columns)x\(sprite.rows)"
                         + ",DURATION=\(PlaylistNumber.fixed(sprite.tileDuration, places: 3))")
            lines.append(sprite.uri)
        }
        if endList { lines.append("#EXT-X-ENDLIST") }
        return lines.joined(separator: "\n") + "\n"
    }
}
