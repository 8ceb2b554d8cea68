import Events
import Foundation
import Logging
import Packager
import State
import Testing
@testable import Workers

/// The snapshot worker's thumbnail track over real H.264: sprites made from its keyframe decodes,
/// stored and listed once, and deleted once they leave the DVR window.
@Suite struct ThumbnailSpritesTests {
    @Test func spritesAreStoredListedAndPrunedPastTheWindow() async throws {
        let folder = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = folder.appendingPathComponent("source.flv")
        try MediaFixtures.makeFLV(at: source, input: ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30"], seconds: 12.5, gop: 30)
        let frames = try MediaFixtures.frames(ofFLV: source)
        let index = SQLiteAssetIndex(database: try SQLiteDatabase(path: nil))
        let store = FilesystemAssetStore(root: folder.appendingPathComponent("assets"))
        let logger = Logger(label: "test")
        let shelf = AssetShelf(bus: EmbeddedEventBus(), index: index, store: store, logger: logger)
        // Tiles of 1 s, 2 × 2 to a sprite (4 s), kept 4 s: media time 0 is the Unix epoch here (no stamps).
        let layout = ThumbnailLayout(intervalSeconds: 1, columns: 2, rows: 2, tileWidth: 160)
        let settings = SnapshotWorker.Settings(channelID: "thumbs", intervalSeconds: nil, thumbnails: layout, dvrWindowSeconds: 4)
        let snapshotter = StreamSnapshotter(streamID: StreamID("thumbs")!, sessionID: 7, settings: settings, assets: shelf, logger: logger)
        for frame in frames {
            snapshotter.offer(frame)
            // Each keyframe's job (decode, sprite, store) ends before the next is offered, as a
            // real-time stream gives it a second; bounded.
            for _ in 0..<500 where snapshotter.state.withLockedValue({ $0.busy }) { try await Task.sleep(for: .milliseconds(10)) }
        }
        await snapshotter.finish()
        let listed = try await index.list(AssetQuery(streamID: "thumbs", kind: .thumbnailSprite)).assets
        let names = listed.compactMap { $0.location.split(separator: "/").last.flatMap { ThumbnailSprite(fileName: $0) } }
        // Sprites 0 (0–4 s) to 3 (the keyframe at 12 s) were made; 0 and 1 left the 4 s window when 3 began.
        #expect(names.map(\.number).sorted() == [2, 3], "\(listed.map(\.location))")
        #expect(names.allSatisfy { $0.tileHeight == 90 && $0.width == 320 && $0.height == 180 })
        for gone in [0, 1] as [Int64] {
            let file = ThumbnailSprite(number: gone, layout: layout, tileHeight: 90).fileName(stream: "thumbs")
            #expect(try await store.get(Asset.location(channel: "thumbs", kind: .thumbnailSprite, day: Date(timeIntervalSince1970: 0),
                                                       file: file)) == nil, "sprite \(gone) deleted")
        }
        let whole = try #require(listed.first { $0.location.contains("-2-2x2-") })
        let jpeg = try #require(try await store.get(whole.location))
        let file = folder.appendingPathComponent("sprite.jpg")
        try jpeg.write(to: file)
        let probe = try MediaFixtures.run("ffprobe", ["-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", file.path])
        #expect(String(decoding: probe, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == "mjpeg,320,180")
    }
}
