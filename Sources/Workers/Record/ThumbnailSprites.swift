import Foundation
import Packager

/// The thumbnail track of one stream's session, made on its snapshot thread from the keyframes
/// the snapshot worker decodes anyway (no decode of its own): each due tile gets the picture of
/// the first keyframe at or after its start, scaled into its cell of the current sprite; after
/// each keyframe the current sprite is encoded again, so players scrubbing near live see the
/// newest tiles (cells still to come are black). Not thread-safe: it belongs to that thread.
final class ThumbnailSprites {
    /// A sprite as placing left it: its JPEG, how many of its cells hold a picture, and whether
    /// it is complete (every cell filled, or the session's tiles have moved past it for good).
    struct Made {
        var sprite: ThumbnailSprite
        var jpeg: Data
        var tiles: Int
        var complete: Bool
    }

    let layout: ThumbnailLayout
    private var sheet: SpriteSheet?
    private(set) var current: ThumbnailSprite?
    /// The cells of `current` that hold a picture.
    private var filled: Set<Int> = []
    /// `current` was returned complete already.
    private var sealed = false

    init(layout: ThumbnailLayout) {
        self.layout = layout
    }

    /// Places `picture` in every tile of `tiles` (ascending; at most a sprite's worth, the last
    /// ones) and returns every sprite that changed or was left behind, oldest first: a sprite
    /// the tiles move past is encoded as it ends (complete) before its cells are cleared, and
    /// the sprite the last tile is in comes last, as it now stands.
    func place(_ picture: Frame, tiles: ClosedRange<Int64>) throws -> [Made] {
        let height = layout.tileHeight(width: picture.width, height: picture.height)
        if sheet?.tileHeight != height {
            sheet = try SpriteSheet(columns: layout.columns, rows: layout.rows, tileWidth: layout.tileWidth, tileHeight: height)
            current = nil
        }
        guard let sheet else { return [] }
        var made: [Made] = []
        let first = max(tiles.lowerBound, tiles.upperBound - Int64(layout.tilesPerSprite) + 1)
        for tile in first...tiles.upperBound {
            let (number, index) = layout.sprite(ofTile: tile)
            if current?.number != number {
                if let current, !sealed { made.append(Made(sprite: current, jpeg: try sheet.jpeg(), tiles: filled.count, complete: true)) }
                sheet.clear()
                (filled, sealed) = ([], false)
                current = ThumbnailSprite(number: number, layout: layout, tileHeight: height)
            }
            try sheet.place(picture, at: index)
            filled.insert(index)
        }
        guard let current else { return made }
        sealed = filled.count >= layout.tilesPerSprite
        made.append(Made(sprite: current, jpeg: try sheet.jpeg(), tiles: filled.count, complete: sealed))
        return made
    }
}

/// Which tiles a keyframe is due for: those after the last one filled, up to the tile its
/// capture time falls in (at most a sprite's worth). The first keyframe of a session fills the
/// tile it falls in.
struct ThumbnailClock: Sendable {
    let layout: ThumbnailLayout
    private(set) var lastTile: Int64?

    init(layout: ThumbnailLayout) {
        self.layout = layout
    }

    /// `origin` (Unix ms of media time 0) and `dts` (ms) from the frame, untrusted: a sum that
    /// does not fit, or lies before 1970, is due for nothing.
    func due(origin: Int64, dts: Int64) -> ClosedRange<Int64>? {
        let (time, overflow) = origin.addingReportingOverflow(dts)
        guard !overflow, time >= 0 else { return nil }
        let tile = layout.tile(at: time)
        let first = max(lastTile.map { $0 + 1 } ?? tile, tile - Int64(layout.tilesPerSprite) + 1)
        return first <= tile ? first...tile : nil
    }

    mutating func filled(through tile: Int64) {
        lastTile = max(lastTile ?? tile, tile)
    }
}
