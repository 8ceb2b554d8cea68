import Events
import NIOCore
import State

extension RecordedMedia {
    /// Snapshots and VOD recordings as the asset listing and store have them: the newest listed
    /// snapshot (tagged with its asset id), a session's listed VOD playlist and the folder beside
    /// it, and the stored files themselves.
    public init(index: any AssetIndex, store: any AssetStore) {
        self.init(latestSnapshot: { stream in
            guard let asset = try await index.latest(.snapshot, of: stream),
                  let jpeg = try await store.get(asset.location) else { return nil }
            return (ByteBuffer(bytes: jpeg), "\"\(asset.id)\"")
        }, vodRecording: { session in
            guard let playlist = try await index.asset(.vodPlaylist, session: session) else { return nil }
            return VODRecording(stream: playlist.streamID,
                                folder: playlist.location.split(separator: "/").dropLast().joined(separator: "/"))
        }, read: { location in
            try await store.get(location).map { ByteBuffer(bytes: $0) }
        }, source: { location in
            try await store.source(of: location)
        })
        thumbnailSprites = Self.thumbnailSprites(index: index)
    }
}
