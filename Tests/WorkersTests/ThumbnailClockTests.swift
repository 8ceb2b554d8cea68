import Packager
import Testing
@testable import Workers

@Suite struct ThumbnailClockTests {
    let layout = ThumbnailLayout(intervalSeconds: 5, columns: 2, rows: 2, tileWidth: 160)

    @Test func eachTileTakesTheFirstKeyframeAtOrAfterItsStart() {
        var clock = ThumbnailClock(layout: layout)
        let origin: Int64 = 1_800_000_000_000
        // The session's first keyframe fills the tile it falls in.
        #expect(clock.due(origin: origin, dts: 1_000) == 360_000_000...360_000_000)
        clock.filled(through: 360_000_000)
        // Keyframes within the same tile are due for nothing.
        #expect(clock.due(origin: origin, dts: 4_000) == nil)
        // Ten-second GOPs: a keyframe at 11 s is the first at or after the starts of 5 s and 10 s.
        #expect(clock.due(origin: origin, dts: 11_000) == 360_000_001...360_000_002)
        clock.filled(through: 360_000_002)
        // Time that went backwards is due for nothing; a jump forward fills at most a sprite's worth.
        #expect(clock.due(origin: origin, dts: 2_000) == nil)
        #expect(clock.due(origin: origin, dts: 3_600_000) == 360_000_717...360_000_720)
    }

    @Test func hostileTimesAreDueForNothing() {
        let clock = ThumbnailClock(layout: layout)
        #expect(clock.due(origin: .max, dts: 1) == nil)
        #expect(clock.due(origin: 0, dts: -10_000) == nil)
        #expect(clock.due(origin: 1 << 44, dts: .max - 5) == nil)
    }

    @Test func spritesAndTilesAreNumberedFromTheEpoch() {
        #expect(layout.sprite(ofTile: 360_000_002) == (90_000_000, 2))
        #expect(layout.start(ofSprite: 90_000_000) == 1_800_000_000_000)
        // The aspect is kept and the height even: 16:9 gives 90, 4:3 gives 120, 1:1 at 161 px wide would be odd.
        #expect(layout.tileHeight(width: 1920, height: 1080) == 90 && layout.tileHeight(width: 640, height: 480) == 120)
        #expect(ThumbnailLayout(tileWidth: 161).tileWidth == 160 && ThumbnailLayout(columns: 50).columns == 10)
        #expect(layout.tileHeight(width: 0, height: 1080) == 90, "a picture without a size gets 16:9")
    }
}
