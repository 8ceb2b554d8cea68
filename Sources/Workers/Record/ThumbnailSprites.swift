import Foundation
import Packager

/// The thumbnail track of one stream's session, made on its snapshot thread from the keyframes
/// the snapshot worker decodes anyway (no decode of its own): each due tile gets the picture of
/// the first keyframe at or after its start, scaled into its cell of the current sprite; after
/// each keyframe the current sprite is encoded again, so players scrubbing near live see the
/// newest tiles (cells still to come are black). Not thread-safe: it belongs to that thread.
final class ThumbnailSprites {
    let layout: ThumbnailLayout
    private var sheet: SpriteSheet?
    private(set) var current: ThumbnailSprite?

    init(layout: ThumbnailLayout) {
        self.layout = layout
    }

    /// Places `picture` in every tile of `tiles` (ascending; at most a sprite's worth, the last
    /// ones) and returns the sprite the last of them is in, as it now stands.
    func place(_ picture: Frame, tiles: ClosedRange<Int64>) throws -> (sprite: ThumbnailSprite, jpeg: Data)? {
        let height = layout.tileHeight(width: picture.width, height: picture.height)
        if sheet?.tileHeight != height {
            sheet = try SpriteSheet(columns: layout.columns, rows: layout.rows, tileWidth: layout.tileWidth, tileHeight: height)
            current = nil
        }
        guard let sheet else { return nil }
        let first = max(tiles.lowerBound, tiles.upperBound - Int64(layout.tilesPerSprite) + 1)
        for tile in first...tiles.upperBound {
            let (number, index) = layout.sprite(ofTile: tile)
            if current?.number != number {
                sheet.clear()
                current = ThumbnailSprite(number: number, layout: layout, tileHeight: height)
            }
            try sheet.place(picture, at: index)
        }
        guard let current else { return nil }
        return (current, try sheet.jpeg())
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
