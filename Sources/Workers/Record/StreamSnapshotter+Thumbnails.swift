import Events
import Foundation
import Packager
import State

extension StreamSnapshotter {
    /// Stores the sprite as it now stands (the same location each time it grows); a sprite
    /// stored for the first time is listed, and sprites that have left the DVR window go.
    func store(_ sprite: ThumbnailSprite, jpeg: Data) async {
        let start = Date(timeIntervalSince1970: Double(sprite.start) / 1000)
        let file = sprite.fileName(stream: streamID.rawValue)
        let asset = Asset(id: "thumbnail-" + file.dropLast(4), kind: .thumbnailSprite, channelID: settings.channelID,
                          streamID: streamID, sessionID: sessionID, start: start,
                          duration: Double(sprite.layout.spriteMilliseconds) / 1000, size: jpeg.count,
                          location: Asset.location(channel: settings.channelID, kind: .thumbnailSprite, day: start, file: file),
                          contentType: "image/jpeg")
        do {
            try await assets.put(jpeg, at: asset.location, contentType: asset.contentType)
            let isNew = state.withLockedValue { state in
                defer { state.storedSprite = sprite.number }
                return state.storedSprite != sprite.number
            }
            guard isNew else { return }
            try await assets.index.add(asset)
            if let window = settings.dvrWindowSeconds { try await prune(before: sprite.start - Int64(window * 1000)) }
        } catch {
            logger.warning("thumbnail sprite not stored", metadata: ["stream": "\(streamID)", "error": "\(error)"])
        }
    }

    /// Deletes the stream's sprites that ended before Unix ms `cutoff` (a page at a time, at most a few pages).
    private func prune(before cutoff: Int64) async throws {
        for _ in 0..<4 {
            let page = try await assets.index.list(AssetQuery(streamID: streamID.rawValue, kind: .thumbnailSprite,
                                                              to: Date(timeIntervalSince1970: Double(cutoff) / 1000), limit: 50))
            let expired = page.assets.filter { $0.start.addingTimeInterval($0.duration) <= Date(timeIntervalSince1970: Double(cutoff) / 1000) }
            guard !expired.isEmpty else { return }
            for asset in expired {
                try await assets.store.deleteFiles(of: asset)
                _ = try await assets.index.remove(asset.id)
            }
        }
    }
}
