/// How a stream's thumbnails are laid out: a tile every `intervalSeconds` of wall-clock time
/// (program date time: the session's origin plus media time), `columns` × `rows` tiles to a JPEG
/// sprite, each tile `tileWidth` pixels wide and as high as the picture's aspect makes it.
///
/// Tiles and sprites are numbered from the Unix epoch, so every node (the snapshot worker that
/// makes them, the packager that lists them in the multivariant playlist and the MPD, the API
/// that serves the image playlist) names the same sprite the same, across republishes too:
/// tile `t` covers `[t × interval, (t + 1) × interval)` and shows the first keyframe at or
/// after its start; sprite `n` holds tiles `n × tilesPerSprite ..< (n + 1) × tilesPerSprite`,
/// row by row.
public struct ThumbnailLayout: Sendable, Hashable, Codable {
    /// Seconds a tile stands for: 1…60.
    public let intervalSeconds: Int
    /// Tiles across and down a sprite: 1…10 each.
    public let columns: Int
    public let rows: Int
    /// Pixels: 64…640, even.
    public let tileWidth: Int

    /// Values outside the channel's ranges are clamped into them.
    public init(intervalSeconds: Int = 5, columns: Int = 5, rows: Int = 5, tileWidth: Int = 160) {
        self.intervalSeconds = min(max(intervalSeconds, 1), 60)
        self.columns = min(max(columns, 1), 10)
        self.rows = min(max(rows, 1), 10)
        self.tileWidth = min(max(tileWidth, 64), 640) & ~1
    }

    public var tilesPerSprite: Int { columns * rows }
    /// Milliseconds a tile stands for.
    public var tileMilliseconds: Int64 { Int64(intervalSeconds) * 1000 }
    /// Milliseconds a sprite stands for.
    public var spriteMilliseconds: Int64 { tileMilliseconds * Int64(tilesPerSprite) }

    /// The tile height for a picture of `width` × `height`: the aspect kept, even, at least 2.
    /// (Pictures come from a decoder, so both are positive; anything else gets 16:9.)
    public func tileHeight(width: Int, height: Int) -> Int {
        guard width > 0, height > 0, width <= 1 << 16, height <= 1 << 16 else { return max(2, tileWidth * 9 / 16 & ~1) }
        return max(2, (tileWidth * height + width / 2) / width & ~1)
    }

    /// The tile a picture captured at Unix ms `time` would be the first keyframe of (the tile
    /// whose start it is at or after).
    public func tile(at time: Int64) -> Int64 { time >= 0 ? time / tileMilliseconds : -1 }

    /// The sprite holding tile `tile`, and the tile's place in it (row-major).
    public func sprite(ofTile tile: Int64) -> (sprite: Int64, index: Int) {
        let perSprite = Int64(tilesPerSprite)
        return (tile / perSprite, Int(tile % perSprite))
    }

    /// Unix ms where sprite `sprite` starts.
    public func start(ofSprite sprite: Int64) -> Int64 { sprite * spriteMilliseconds }
}

/// One stored sprite of a stream's thumbnail track: its number under its layout and its tile
/// height. Its file name says all of it (`{stream}-{number}-{C}x{R}-{W}x{H}-{I}s.jpg`), so the
/// image playlist is written from the asset index alone.
public struct ThumbnailSprite: Sendable, Hashable {
    public var number: Int64
    public var layout: ThumbnailLayout
    public var tileHeight: Int

    public init(number: Int64, layout: ThumbnailLayout, tileHeight: Int) {
        self.number = number
        self.layout = layout
        self.tileHeight = tileHeight
    }

    /// Unix ms of its first tile's start.
    public var start: Int64 { layout.start(ofSprite: number) }
    public var width: Int { layout.columns * layout.tileWidth }
    public var height: Int { layout.rows * tileHeight }

    /// `{stream}-{number}-{C}x{R}-{W}x{H}-{I}s.jpg`: where it is stored.
    public func fileName(stream: String) -> String {
        "\(stream)-\(number)-\(layout.columns)x\(layout.rows)-\(layout.tileWidth)x\(tileHeight)-\(layout.intervalSeconds)s.jpg"
    }

    /// `{number}-{C}x{R}-{W}-{I}s.jpg`: its name under `/{id}/thumbnails/`. The tile height is
    /// left out, so every variant of a stream (whatever its rounding of the aspect) names it the same.
    public var name: String { Self.name(number: "\(number)", layout) }

    /// The DASH `SegmentTemplate` media of sprites of this layout.
    public static func template(_ layout: ThumbnailLayout) -> String { "thumbnails/" + name(number: "$Number$", layout) }

    private static func name(number: String, _ layout: ThumbnailLayout) -> String {
        "\(number)-\(layout.columns)x\(layout.rows)-\(layout.tileWidth)-\(layout.intervalSeconds)s.jpg"
    }

    /// The number and layout a `name` gives; nil for anything else.
    public static func parse(name: Substring) -> (number: Int64, layout: ThumbnailLayout)? {
        guard name.hasSuffix("s.jpg") else { return nil }
        let fields = name.dropLast(5).split(separator: "-", omittingEmptySubsequences: false)
        guard fields.count == 4, let number = Int64(fields[0]), number >= 0, number < 1 << 40 else { return nil }
        let grid = fields[1].split(separator: "x")
        guard grid.count == 2, let columns = Int(grid[0]), let rows = Int(grid[1]), let width = Int(fields[2]),
              let interval = Int(fields[3]) else { return nil }
        let layout = ThumbnailLayout(intervalSeconds: interval, columns: columns, rows: rows, tileWidth: width)
        guard layout.columns == columns, layout.rows == rows, layout.tileWidth == width, layout.intervalSeconds == interval
        else { return nil }
        return (number, layout)
    }

    /// Bits per second players may assume: a bit per pixel of the sprite over its duration
    /// (JPEG thumbnails take less).
    public var bandwidth: Int { max(1, width * height * 1000 / Int(max(layout.spriteMilliseconds, 1))) }

    /// Reads a name `fileName(stream:)` wrote (the stream's name may hold dashes); nil for
    /// anything else, or numbers outside the layout's ranges.
    public init?(fileName: Substring) {
        guard fileName.hasSuffix("s.jpg") else { return nil }
        let fields = fileName.dropLast(5).split(separator: "-").suffix(4)
        guard fields.count == 4, let number = Int64(fields[fields.startIndex]), number >= 0, number < 1 << 40 else { return nil }
        let grid = fields[fields.startIndex + 1].split(separator: "x"), tile = fields[fields.startIndex + 2].split(separator: "x")
        guard grid.count == 2, tile.count == 2, let columns = Int(grid[0]), let rows = Int(grid[1]), let width = Int(tile[0]),
              let height = Int(tile[1]), let interval = Int(fields[fields.startIndex + 3]) else { return nil }
        let layout = ThumbnailLayout(intervalSeconds: interval, columns: columns, rows: rows, tileWidth: width)
        guard layout.columns == columns, layout.rows == rows, layout.tileWidth == width, layout.intervalSeconds == interval,
              (2...4096).contains(height), height % 2 == 0 else { return nil }
        self.init(number: number, layout: layout, tileHeight: height)
    }
}
