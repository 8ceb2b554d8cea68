import Events
import Foundation

/// A finished file a worker stored: an MP4 segment, a snapshot, a VOD playlist, a motion clip.
public struct Asset: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case mp4
        case snapshot
        case vodPlaylist = "vod-playlist"
        case motionClip = "motion-clip"
        case motionSnapshot = "motion-snapshot"
        /// A JPEG sprite of the thumbnail track (trick play), listed but not announced.
        case thumbnailSprite = "thumbnail-sprite"
    }

    public var id: String
    public var kind: Kind
    public var channelID: String
    public var streamID: StreamID
    @HexSessionID public var sessionID: UInt64
    /// When the media starts.
    public var start: Date
    /// Seconds of media; 0 for a picture.
    public var duration: Double
    public var size: Int
    /// The store key: `{channel}/{kind}/{YYYY}/{MM}/{DD}/{file}`.
    public var location: String
    public var contentType: String
    public var createdAt: Date

    public init(id: String = UUID().uuidString.lowercased(), kind: Kind, channelID: String, streamID: StreamID, sessionID: UInt64,
                start: Date, duration: Double, size: Int, location: String, contentType: String, createdAt: Date = Date()) {
        self.id = id
        self.kind = kind
        self.channelID = channelID
        self.streamID = streamID
        self.sessionID = sessionID
        self.start = start
        self.duration = duration
        self.size = size
        self.location = location
        self.contentType = contentType
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, channelID = "channelId", streamID = "streamId", sessionID = "sessionId", start, duration, size, location,
             contentType, createdAt
    }

    /// `{channel}/{kind}/{YYYY}/{MM}/{DD}/{file}`, the day in UTC.
    public static func location(channel: String, kind: Kind, day: Date, file: String) -> String {
        let parts = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: day)
        let date = String(format: "%04d/%02d/%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
        return "\(channel)/\(kind.rawValue)/\(date)/\(file)"
    }

    /// The event announcing this asset.
    public var created: AssetCreated {
        AssetCreated(assetID: id, kind: kind.rawValue, channelID: channelID, streamID: streamID, sessionID: sessionID,
                     start: start, duration: duration, size: size, location: location, contentType: contentType)
    }
}

/// Which assets a listing wants, newest first.
public struct AssetQuery: Sendable, Hashable {
    public var channelID: String?
    public var streamID: String?
    public var kind: Asset.Kind?
    /// Assets that start at or after `from` and before `to`.
    public var from: Date?
    public var to: Date?
    public var limit: Int
    /// The `next` of the previous page.
    public var after: String?

    public init(channelID: String? = nil, streamID: String? = nil, kind: Asset.Kind? = nil, from: Date? = nil, to: Date? = nil,
                limit: Int = 50, after: String? = nil) {
        self.channelID = channelID
        self.streamID = streamID
        self.kind = kind
        self.from = from
        self.to = to
        self.limit = limit
        self.after = after
    }
}

public struct AssetPage: Sendable, Hashable {
    public var assets: [Asset]
    /// Pass as `after` for the next page; nil on the last.
    public var next: String?
}

/// The list of stored assets. Each is listed once, after its bytes are stored whole.
public protocol AssetIndex: Sendable {
    /// Lists an asset; adding the same id again changes nothing.
    func add(_ asset: Asset) async throws
    func asset(_ id: String) async throws -> Asset?
    func list(_ query: AssetQuery) async throws -> AssetPage
    /// The newest asset of `kind` for a stream.
    func latest(_ kind: Asset.Kind, of stream: StreamID) async throws -> Asset?
    /// Replaces a listed asset's size, duration and location (a recording that grew).
    func update(_ asset: Asset) async throws
    /// The asset of `kind` made for a publish session (a VOD recording), if listed.
    func asset(_ kind: Asset.Kind, session: UInt64) async throws -> Asset?
    /// Removes the listing; returns what was removed.
    func remove(_ id: String) async throws -> Asset?
    /// Assets of a channel created before `date` (for retention), oldest first, at most `limit`.
    func created(before date: Date, channelID: String, limit: Int) async throws -> [Asset]

    // DVR archive (`DVRIndexEntry`): one query lists a window, one removes what left it.

    /// Lists an archived DVR segment; listing the same (stream, rendition, session, sequence) again replaces it.
    func addDVRSegment(_ entry: DVRIndexEntry) async throws
    /// `stream`'s (`rendition`'s) archived segments whose program date is at or after `since`
    /// (Unix ms), oldest first (by program date, then sequence), at most `limit`.
    func dvrSegments(of stream: StreamID, rendition: String, since: Int64, limit: Int) async throws -> [DVRIndexEntry]
    /// The archived segment of `session` DASH numbers `dashNumber`, if listed.
    func dvrSegment(of stream: StreamID, rendition: String, session: String, dashNumber: Int) async throws -> DVRIndexEntry?
    /// Removes `stream`'s archived segments (every rendition's) whose program date is before
    /// `before` (Unix ms), oldest first, at most `limit`; returns what it removed.
    func removeDVRSegments(of stream: StreamID, before: Int64, limit: Int) async throws -> [DVRIndexEntry]
    /// How many archived segments `session` of `stream` (`rendition`) still has listed.
    func dvrSegmentCount(of stream: StreamID, rendition: String, session: String) async throws -> Int
    /// Streams with archived segments, at most `limit` (for the sweep of streams gone quiet).
    func dvrStreams(limit: Int) async throws -> [StreamID]
}

/// Where asset bytes live: the data dir (here), or S3-compatible storage.
public protocol AssetStore: Sendable {
    /// Stores the bytes whole under `location` (never a partial object under that name).
    func put(_ bytes: Data, at location: String, contentType: String) async throws
    /// Takes a finished local file (moved when the store is on the same disk, copied or
    /// uploaded otherwise); the file is gone from `file` afterwards.
    func put(file: URL, at location: String, contentType: String) async throws
    func get(_ location: String) async throws -> Data?
    func delete(_ location: String) async throws
    /// A URL a client can download the file from directly (pre-signed for S3); nil when the API
    /// serves the bytes itself.
    func downloadURL(for location: String) -> String?
    /// The local file of a stored asset, for the HTTP edge to send without reading it into
    /// memory; nil when the store is not a local disk or the file is not there.
    func localFile(_ location: String) async throws -> URL?
}

extension AssetStore {
    public func downloadURL(for location: String) -> String? { nil }
    public func localFile(_ location: String) async throws -> URL? { nil }

    /// Where the HTTP edge sends a stored file from: the local file, or a redirect to the
    /// store's own (pre-signed) URL, which serves byte ranges itself. Nil when neither is there.
    public func source(of location: String) async throws -> StoredFileSource? {
        if let file = try await localFile(location) { return .file(file.path) }
        return downloadURL(for: location).map(StoredFileSource.redirect)
    }

    /// Deletes an asset's files: for a VOD recording, every segment its playlist lists, then the
    /// playlist; for the rest, the one file.
    public func deleteFiles(of asset: Asset) async throws {
        if asset.kind == .vodPlaylist, let playlist = try await get(asset.location) {
            let folder = asset.location.split(separator: "/").dropLast().joined(separator: "/")
            let segments = String(decoding: playlist, as: UTF8.self).split(separator: "\n")
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") && !$0.contains("/") }
            for segment in segments { try await delete("\(folder)/\(segment)") }
        }
        try await delete(asset.location)
    }
}

/// Where a stored file is served from.
public enum StoredFileSource: Sendable, Hashable {
    /// A local file, sent as it is (byte ranges from it).
    case file(String)
    /// A URL the client is sent to (S3's pre-signed URL).
    case redirect(String)
}
