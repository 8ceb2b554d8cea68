import Events
import Foundation
import Logging
import Media
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

    /// Runs `frames` through a fresh snapshot worker of `settings`, each keyframe's job ended
    /// before the next is offered (as a real-time stream gives it a second; bounded).
    private static func feed(_ frames: [MediaFrame], settings: SnapshotWorker.Settings, shelf: AssetShelf) async throws {
        let snapshotter = StreamSnapshotter(streamID: StreamID("thumbs")!, sessionID: 7, settings: settings, assets: shelf,
                                            logger: Logger(label: "test"))
        for frame in frames {
            snapshotter.offer(frame)
            for _ in 0..<500 where snapshotter.state.withLockedValue({ $0.busy }) { try await Task.sleep(for: .milliseconds(10)) }
        }
        for _ in 0..<500 where snapshotter.state.withLockedValue({ $0.busy }) { try await Task.sleep(for: .milliseconds(10)) }
        await snapshotter.finish()
    }

    /// The mean luma (0 black … 255) of cell `index` of stored sprite `number`, decoded by ffmpeg.
    private static func cellLuma(_ number: Int64, _ index: Int, layout: ThumbnailLayout, store: FilesystemAssetStore,
                                 folder: URL) async throws -> Double {
        let file = ThumbnailSprite(number: number, layout: layout, tileHeight: 90).fileName(stream: "thumbs")
        let jpeg = try #require(try await store.get(Asset.location(channel: "thumbs", kind: .thumbnailSprite,
                                                                   day: Date(timeIntervalSince1970: 0), file: file)))
        let path = folder.appendingPathComponent("cell-\(number)-\(index).jpg")
        try jpeg.write(to: path)
        let x = index % layout.columns * layout.tileWidth, y = index / layout.columns * 90
        let gray = try MediaFixtures.run("ffmpeg", ["-v", "error", "-i", path.path, "-vf", "crop=\(layout.tileWidth):90:\(x):\(y)",
                                                    "-f", "rawvideo", "-pix_fmt", "gray", "-"])
        return gray.isEmpty ? 0 : Double(gray.reduce(0) { $0 + Int($1) }) / Double(gray.count)
    }

    @Test func aKeyframeDueInTwoSpritesStoresBothAndListsHowMuchIsMade() async throws {
        let folder = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = folder.appendingPathComponent("source.flv")
        // Three-second GOPs: keyframes at 0, 3, 6, 9 and 12 s; 1 s tiles, 2 × 2 to a sprite.
        try MediaFixtures.makeFLV(at: source, input: ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30"], seconds: 12.5, gop: 90)
        let index = SQLiteAssetIndex(database: try SQLiteDatabase(path: nil))
        let store = FilesystemAssetStore(root: folder.appendingPathComponent("assets"))
        let shelf = AssetShelf(bus: EmbeddedEventBus(), index: index, store: store, logger: Logger(label: "test"))
        let layout = ThumbnailLayout(intervalSeconds: 1, columns: 2, rows: 2, tileWidth: 160)
        try await Self.feed(try MediaFixtures.frames(ofFLV: source),
                            settings: SnapshotWorker.Settings(channelID: "thumbs", intervalSeconds: nil, thumbnails: layout), shelf: shelf)
        let listed = try await index.list(AssetQuery(streamID: "thumbs", kind: .thumbnailSprite)).assets
        let durations = Dictionary(uniqueKeysWithValues: listed.compactMap { asset in
            asset.location.split(separator: "/").last.flatMap { ThumbnailSprite(fileName: $0) }.map { ($0.number, asset.duration) }
        })
        // Sprites 0–2 are complete (listed whole); sprite 3 has the keyframe at 12 s's one tile.
        #expect(durations == [0: 4, 1: 4, 2: 4, 3: 1], "\(listed.map(\.location))")
        // The keyframe at 9 s fills tile 7 (sprite 1's last cell) and 8–9; the one at 12 s tiles 10–11 (sprite 2's last two) and 12.
        for (sprite, cell) in [(1, 3), (2, 2), (2, 3), (0, 0), (3, 0)] as [(Int64, Int)] {
            let luma = try await Self.cellLuma(sprite, cell, layout: layout, store: store, folder: folder)
            #expect(luma > 20, "sprite \(sprite) cell \(cell) holds a picture (mean luma \(luma))")
        }
    }

    @Test func aRestartedWorkerDoesNotBlackOutAStoredSprite() async throws {
        let folder = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = folder.appendingPathComponent("source.flv")
        try MediaFixtures.makeFLV(at: source, input: ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30"], seconds: 8.5, gop: 30)
        let frames = try MediaFixtures.frames(ofFLV: source)
        let index = SQLiteAssetIndex(database: try SQLiteDatabase(path: nil))
        let store = FilesystemAssetStore(root: folder.appendingPathComponent("assets"))
        let shelf = AssetShelf(bus: EmbeddedEventBus(), index: index, store: store, logger: Logger(label: "test"))
        let layout = ThumbnailLayout(intervalSeconds: 1, columns: 2, rows: 2, tileWidth: 160)
        let settings = SnapshotWorker.Settings(channelID: "thumbs", intervalSeconds: nil, thumbnails: layout)
        // The first worker makes sprite 1's tiles 4–6 (keyframes each second), then stops.
        try await Self.feed(frames.filter { $0.dts < 6_500 }, settings: settings, shelf: shelf)
        // Its successor joins at 7 s (sequence header first): one tile of sprite 1, then sprite 2.
        let joined = frames.filter { frame in
            frame.dts >= 7_000 || (try? VideoTagInfo(body: frame.payload))?.isSequenceHeader == true
        }
        try await Self.feed(joined, settings: settings, shelf: shelf)
        for cell in 0..<3 {
            let luma = try await Self.cellLuma(1, cell, layout: layout, store: store, folder: folder)
            #expect(luma > 20, "sprite 1 cell \(cell) kept its picture (mean luma \(luma))")
        }
        // Sprite 1 stays as the first worker listed it (three tiles); sprite 2 is the successor's.
        let listed = try await index.list(AssetQuery(streamID: "thumbs", kind: .thumbnailSprite)).assets
        let durations = Dictionary(uniqueKeysWithValues: listed.compactMap { asset in
            asset.location.split(separator: "/").last.flatMap { ThumbnailSprite(fileName: $0) }.map { ($0.number, asset.duration) }
        })
        #expect(durations == [0: 4, 1: 3, 2: 1], "\(listed.map(\.location))")
    }
}
