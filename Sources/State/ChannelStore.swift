import Events
import Foundation

/// One page of a channel listing, in creation order.
public struct ChannelPage: Sendable, Hashable {
    public var channels: [StreamChannel]
    /// Pass as `after` for the next page; `nil` on the last.
    public var next: String?
}

/// Where channels live. Implementations: SQLite (one machine) and Redis (a cluster).
///
/// Writes are checked against the channel's validation; a write with `ifRevision` fails with
/// `.staleRevision` unless the stored revision still matches.
public protocol ChannelStore: Sendable {
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
}
