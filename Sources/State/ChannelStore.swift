import Events
import Foundation

/// One page of a channel listing, in creation order.
public struct ChannelPage: Sendable, Hashable {
    public var channels: [StreamChannel]
    /// Pass as `after` for the next page; `nil` on the last.
    public var next: String?
}

/// Where channels live. Implementations: SQLite (one machine) and PostgreSQL (a cluster).
///
/// Writes are checked against the channel's validation; a write with `ifRevision` fails with
/// `.staleRevision` unless the stored revision still matches.
///
/// Every store is also the `ChannelDirectory` hubs and workers read a stream's channel from.
public protocol ChannelStore: ChannelDirectory {
    /// Stores a new channel with its push secret. Throws `.conflict` if the id exists.
    func create(_ channel: StreamChannel, pushSecret: String) async throws -> StreamChannel
    func channel(_ id: ChannelID) async throws -> StreamChannel?
    /// The push secret, for checking signatures. Never part of a listing.
    func pushSecret(of id: ChannelID) async throws -> String?
    /// Channels whose name contains `nameContains` (case-insensitive), `limit` at a time.
    func list(nameContains: String?, limit: Int, after: String?) async throws -> ChannelPage
    /// Replaces the channel's settings (not its id, creation time or secret); bumps the revision.
    func update(_ channel: StreamChannel, ifRevision: Int?) async throws -> StreamChannel
    /// Sets a new push secret; bumps the revision.
    func rotatePushSecret(of id: ChannelID, to secret: String) async throws -> StreamChannel
    func delete(_ id: ChannelID, ifRevision: Int?) async throws
    /// The channel's uploaded watermark image, if it has one.
    func watermarkImage(of id: ChannelID) async throws -> WatermarkImage?
    /// Stores the image (`nil` removes it) and bumps the channel's revision. Throws `.notFound`
    /// for an unknown channel.
    func setWatermarkImage(_ image: WatermarkImage?, of id: ChannelID) async throws -> StreamChannel
}

extension ChannelStore {
    /// The channel whose id is the stream's name; nil for any other stream.
    public func channel(of stream: StreamID) async throws -> StreamChannel? {
        guard let id = ChannelID(stream.rawValue) else { return nil }
        return try await channel(id)
    }

    public func watermarkImageBytes(of stream: StreamID) async throws -> [UInt8]? {
        guard let id = ChannelID(stream.rawValue) else { return nil }
        return try await watermarkImage(of: id)?.bytes
    }
}

/// A PNG or JPEG a channel's watermark draws. Uploaded through the API, never fetched from a URL.
public struct WatermarkImage: Sendable, Hashable {
    public var contentType: String
    public var bytes: [UInt8]

    /// Recognises PNG and JPEG by their signatures; nil for anything else.
    public init?(bytes: [UInt8]) {
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            contentType = "image/png"
        } else if bytes.starts(with: [0xFF, 0xD8, 0xFF]) {
            contentType = "image/jpeg"
        } else {
            return nil
        }
        self.bytes = bytes
    }

}
