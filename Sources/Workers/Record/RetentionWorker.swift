import Foundation
import Logging
import ServiceLifecycle
import State

/// Deletes what channels keep no longer: every `period`, each channel's assets created more
/// than `record.retentionDays` ago go from the listing and then from the store.
public final class RetentionWorker: Service, Sendable {
    /// Channels and their retention in days (0: keep everything).
    public typealias Retentions = @Sendable () async throws -> [(channelID: String, days: Int)]

    private let index: any AssetIndex
    private let store: any AssetStore
    private let retentions: Retentions
    private let period: Duration
    private let logger: Logger

    public init(index: any AssetIndex, store: any AssetStore, period: Duration = .seconds(3600), logger: Logger,
                retentions: @escaping Retentions) {
        self.index = index
        self.store = store
        self.period = period
        self.logger = logger
        self.retentions = retentions
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
            for (channel, days) in try await retentions() where days > 0 {
                let cutoff = now.addingTimeInterval(-Double(days) * 86_400)
                while true {
                    let expired = try await index.created(before: cutoff, channelID: channel, limit: 100)
                    for asset in expired {
                        // Unlisted first: nothing listed is ever missing its file.
                        _ = try await index.remove(asset.id)
                        try await store.deleteFiles(of: asset)
                        removed += 1
                    }
                    if expired.count < 100 { break }
                }
            }
        } catch {
            logger.error("retention sweep stopped", metadata: ["error": "\(error)"])
        }
        if removed > 0 { logger.info("retention removed assets", metadata: ["count": "\(removed)"]) }
        return removed
    }
}
