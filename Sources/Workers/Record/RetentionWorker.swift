import Events
import Foundation
import Logging
import ServiceLifecycle
import State

/// Deletes what channels keep no longer: every `period`, each channel's assets created more
/// than `record.retentionDays` ago go from the listing and then from the store.
public final class RetentionWorker: Service, Sendable {
    private let index: any AssetIndex
    private let store: any AssetStore
    /// Every channel, listed page by page each sweep for its `record.retentionDays`.
    private let channels: any ChannelStore
    private let period: Duration
    private let logger: Logger

    public init(index: any AssetIndex, store: any AssetStore, period: Duration = .seconds(3600), channels: any ChannelStore,
                logger: Logger) {
        self.index = index
        self.store = store
        self.period = period
        self.logger = logger
        self.channels = channels
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.sweep(now: Date())
                // Cancelled at shutdown: the loop ends, nothing is thrown (a throw fails the group).
                try? await Task.sleep(for: self.period)
            }
        }
    }

    /// One pass over every channel; returns how many assets went.
    @discardableResult
    public func sweep(now: Date) async -> Int {
        var removed = 0
        do {
            var after: String?
            repeat {
                let page = try await channels.list(nameContains: nil, limit: 500, after: after)
                for channel in page.channels where channel.record.retentionDays > 0 {
                    let cutoff = now.addingTimeInterval(-Double(channel.record.retentionDays) * 86_400)
                    try await removeAssets(of: channel.streamName, createdBefore: cutoff, counting: &removed)
                }
                after = page.next
            } while after != nil
        } catch {
            logger.error("retention sweep stopped", metadata: ["error": "\(error)"])
        }
        if removed > 0 { logger.info("retention removed assets", metadata: ["count": "\(removed)"]) }
        return removed
    }

    /// Removes `channelID`'s assets created before `cutoff`, 100 at a time, adding each to `removed`
    /// as it goes (so a failure part way still counts what went).
    private func removeAssets(of channelID: String, createdBefore cutoff: Date, counting removed: inout Int) async throws {
        while true {
            let expired = try await index.created(before: cutoff, channelID: channelID, limit: 100)
            for asset in expired {
                // Unlisted first: nothing listed is ever missing its file.
                _ = try await index.remove(asset.id)
                try await store.deleteFiles(of: asset)
                removed += 1
            }
            if expired.count < 100 { return }
        }
    }
}
