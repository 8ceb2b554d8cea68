import Events
import Foundation
import Packager
import State

extension StreamSnapshotter {
    /// Stores the sprite as it now stands (the same location each time it grows); a sprite
    /// stored for the first time is listed, and sprites that have left the DVR window go.
    ///
    /// The listing's duration says how much of the sprite is made: the whole sprite once it is
    /// complete (the API then serves it as immutable), else its filled tiles' worth. A sprite
    /// listed by another worker (this one restarted, or a session before) is never overwritten
    /// by one holding fewer tiles: its stored cells would turn black.
    func store(_ made: ThumbnailSprites.Made) async {
        let sprite = made.sprite
        let start = Date(timeIntervalSince1970: Double(sprite.start) / 1000)
        let file = sprite.fileName(stream: streamID.rawValue)
        let interval = Double(sprite.layout.intervalSeconds)
        let asset = Asset(id: "thumbnail-" + file.dropLast(4), kind: .thumbnailSprite, channelID: settings.channelID,
                          streamID: streamID, sessionID: sessionID, start: start,
                          duration: made.complete ? Double(sprite.layout.spriteMilliseconds) / 1000 : Double(made.tiles) * interval,
                          size: made.jpeg.count,
                          location: Asset.location(channel: settings.channelID, kind: .thumbnailSprite, day: start, file: file),
                          contentType: "image/jpeg")
        do {
            let stored = try await storedTiles(of: asset, sprite: sprite)
            if let stored, made.tiles < stored { return }
            try await assets.put(made.jpeg, at: asset.location, contentType: asset.contentType)
            state.withLockedValue { $0.storedSprite = sprite.number }
            guard stored == nil else { return try await assets.index.update(asset) }
            try await assets.index.add(asset)
            if let window = settings.dvrWindowSeconds { try await prune(before: sprite.start - Int64(window * 1000)) }
        } catch {
            logger.warning("thumbnail sprite not stored", metadata: ["stream": "\(streamID)", "error": "\(error)"])
        }
    }

    /// How many tiles the stored `sprite` holds: 0 when this worker stored it (it only grows
    /// here), the listing's count when another did, nil when it is not listed.
    private func storedTiles(of asset: Asset, sprite: ThumbnailSprite) async throws -> Int? {
        if state.withLockedValue({ $0.storedSprite }) == sprite.number { return 0 }
        guard let listed = try await assets.index.asset(asset.id) else { return nil }
        return Int(min(max(listed.duration / Double(sprite.layout.intervalSeconds), 0), Double(sprite.layout.tilesPerSprite)).rounded())
    }

    /// Deletes the stream's sprites that ended before Unix ms `cutoff` (a page at a time, at most a few pages).
    private func prune(before cutoff: Int64) async throws {
        for _ in 0..<4 {
            let page = try await assets.index.list(AssetQuery(streamID: streamID.rawValue, kind: .thumbnailSprite,
                                                              to: Date(timeIntervalSince1970: Double(cutoff) / 1000), limit: 50))
            // A sprite ends where its layout says (its listed duration is what of it is made).
            let expired = page.assets.filter { asset in
                let sprite = asset.location.split(separator: "/").last.flatMap { ThumbnailSprite(fileName: $0) }
                let length = sprite.map { Double($0.layout.spriteMilliseconds) / 1000 } ?? asset.duration
                return asset.start.addingTimeInterval(length) <= Date(timeIntervalSince1970: Double(cutoff) / 1000)
            }
            guard !expired.isEmpty else { return }
            for asset in expired {
                try await assets.store.deleteFiles(of: asset)
                _ = try await assets.index.remove(asset.id)
            }
        }
    }
}
