import Events
import Foundation
import Logging
import NIOConcurrencyHelpers

/// Packages every live stream on this node for HTTP playback, fed from `sluice.media.source`.
/// A stream's package outlives its publisher for `republishGrace`, so a republish continues
/// the same playlists after a discontinuity; afterwards it is dropped.
public final class PackagerHub: Sendable {
    /// How a stream is packaged, or nil when its channel enables no HTTP segment output.
    public typealias SettingsLookup = @Sendable (StreamID) async -> PackagingConfiguration?

    private struct Streams {
        var packages: [StreamID: StreamPackage] = [:]
        /// Sessions seen, packaged or not, so the lookup runs once per session.
        var sessions: [StreamID: UInt64] = [:]
    }

    private let subscription: BusSubscription
    private let settings: SettingsLookup
    private let republishGrace: TimeInterval
    private let streams = NIOLockedValueBox(Streams())
    private let logger: Logger

    public init(bus: any EventBus, republishGrace: TimeInterval = 60, logger: Logger, settings: @escaping SettingsLookup) {
        subscription = bus.subscribe(to: .mediaSource, from: .end)
        self.settings = settings
        self.republishGrace = republishGrace
        self.logger = logger
    }

    /// The package of `stream`, live or kept for a republish.
    public func package(for stream: StreamID) -> StreamPackage? {
        streams.withLockedValue { $0.packages[stream] }
    }

    public func run() async throws {
        for try await delivery in subscription {
            guard case .frame(let frame) = delivery.record.value, let id = StreamID(delivery.record.key) else { continue }
            await handle(frame, of: id, arrival: Date())
        }
    }

    func handle(_ frame: MediaFrame, of id: StreamID, arrival: Date) async {
        let (known, current) = streams.withLockedValue { ($0.sessions[id], $0.packages[id]) }
        if frame.kind == .end {
            guard known == frame.sessionID else { return }
            streams.withLockedValue { $0.sessions[id] = nil }
            current?.finish(at: arrival)
            sweep(now: arrival)
            return
        }
        let package = known == frame.sessionID ? current : await beginSession(frame.sessionID, of: id, at: arrival)
        guard let package, package.isLive else { return }
        do {
            try package.append(frame, arrival: arrival)
        } catch {
            logger.warning("frame not packaged", metadata: ["stream": "\(id)", "error": "\(error)"])
        }
    }

    /// The package the new session goes to, or nil when its channel packages nothing.
    private func beginSession(_ sessionID: UInt64, of id: StreamID, at date: Date) async -> StreamPackage? {
        sweep(now: date)
        let configuration = await settings(id)
        let package: StreamPackage? = streams.withLockedValue { streams in
            streams.sessions[id] = sessionID
            guard let configuration, configuration.isEnabled else {
                streams.packages[id] = nil
                return nil
            }
            if let kept = streams.packages[id], kept.configuration == configuration { return kept }
            let fresh = StreamPackage(streamID: id, configuration: configuration)
            streams.packages[id] = fresh
            return fresh
        }
        package?.begin(sessionID: sessionID)
        if package != nil { logger.info("packaging stream", metadata: ["stream": "\(id)"]) }
        return package
    }

    /// Drops packages whose publisher left longer than the grace ago.
    private func sweep(now: Date) {
        streams.withLockedValue { streams in
            streams.packages = streams.packages.filter { _, package in
                package.isLive || (package.endedAt.map { now.timeIntervalSince($0) < republishGrace } ?? true)
            }
        }
    }
}
