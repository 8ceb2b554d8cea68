import Events
import Foundation
import Media
import NIOCore
import Packager
import State

/// A stream's thumbnail track at `/{id}/thumbnails.m3u8` (an image media playlist) and
/// `/{id}/thumbnails/{name}` (its JPEG sprites), written from the asset index alone, so every
/// API node answers the same.
public enum ThumbnailResource: Sendable, Hashable {
    case playlist
    /// A sprite by the name playlists and MPDs give it (`ThumbnailSprite.name`), checked when parsed.
    case sprite(String)

    /// `name` if it is a sprite's name; nil for anything else.
    init?(spriteName name: String) {
        guard ThumbnailSprite.parse(name: Substring(name)) != nil else { return nil }
        self = .sprite(name)
    }
}

enum ThumbnailTrack {
    /// Sprites the image playlist lists at most (with a DVR window, the worker deletes what left it).
    static let maxListed = 200

    /// The stored sprites `assets` lists (newest first, any order is sorted), as the playlist of
    /// the newest run of consecutive sprites of one session; nil when there is none.
    static func playlist(of assets: [Asset]) -> ImagePlaylist? {
        let sprites = assets.compactMap { asset -> (asset: Asset, sprite: ThumbnailSprite)? in
            guard let file = asset.location.split(separator: "/").last, let sprite = ThumbnailSprite(fileName: file) else { return nil }
            return (asset, sprite)
        }.sorted { $0.sprite.start > $1.sprite.start }
        guard let newest = sprites.first else { return nil }
        var run = [newest]
        for candidate in sprites.dropFirst() {
            guard let last = run.last, candidate.asset.sessionID == newest.asset.sessionID, candidate.sprite.layout == last.sprite.layout,
                  candidate.sprite.number + 1 == last.sprite.number else { break }
            run.append(candidate)
        }
        let listed = run.reversed().map { entry in
            let sprite = entry.sprite
            return ImagePlaylist.Sprite(uri: "thumbnails/" + sprite.name, duration: Double(sprite.layout.spriteMilliseconds) / 1000,
                                        tileSize: PictureSize(width: sprite.layout.tileWidth, height: sprite.tileHeight),
                                        columns: sprite.layout.columns, rows: sprite.layout.rows,
                                        tileDuration: Double(sprite.layout.intervalSeconds), programDate: sprite.start)
        }
        return ImagePlaylist(mediaSequence: Int(run.last?.sprite.number ?? 0), sprites: listed)
    }

    /// A sprite is complete (served as immutable) once its listing says its every tile is made
    /// (the snapshot worker lists the whole sprite's duration then), never by a node's clock.
    static func isComplete(_ asset: Asset, layout: ThumbnailLayout) -> Bool {
        asset.duration >= Double(layout.spriteMilliseconds) / 1000
    }

    /// What a thumbnail request finds in the index and store, kept a moment for every connection.
    enum Found: Sendable {
        case none
        case playlist(ByteBuffer, tag: String)
        case sprite(ByteBuffer, tag: String, complete: Bool, intervalSeconds: Int)
    }

    struct LookupKey: Hashable, Sendable {
        var stream: StreamID
        var resource: ThumbnailResource
    }

    /// A second's keep (a tile is at least that), for at most 64 answers (sprites are the big ones).
    static func lookups(lifetime: TimeAmount = .seconds(1)) -> LookupCache<LookupKey, Found> {
        LookupCache(lifetime: lifetime, capacity: 64)
    }

    /// The listed sprite `name` names, among `assets` (those starting when it does).
    static func asset(named name: String, in assets: [Asset]) -> Asset? {
        guard let (number, layout) = ThumbnailSprite.parse(name: Substring(name)) else { return nil }
        return assets.first { asset in
            guard let file = asset.location.split(separator: "/").last, let sprite = ThumbnailSprite(fileName: file) else { return false }
            return sprite.number == number && sprite.layout == layout
        }
    }
}

extension RecordedMedia {
    /// A stream's thumbnail sprites from the asset index, newest first: all of them (up to
    /// `ThumbnailTrack.maxListed`), or those starting at Unix ms `start`.
    static func thumbnailSprites(index: any AssetIndex) -> @Sendable (StreamID, _ start: Int64?) async throws -> [Asset] {
        { stream, start in
            let from = start.map { Date(timeIntervalSince1970: Double($0) / 1000) }
            let query = AssetQuery(streamID: stream.rawValue, kind: .thumbnailSprite, from: from,
                                   to: from.map { $0.addingTimeInterval(0.001) }, limit: start == nil ? ThumbnailTrack.maxListed : 10)
            return try await index.list(query).assets
        }
    }
}
