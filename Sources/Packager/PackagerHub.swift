import Events
import Foundation
import Logging
import NIOConcurrencyHelpers

/// Packages every live stream on this node for HTTP playback, fed from `sluice.media.source`
/// and `sluice.media.renditions`: one package per stream and per rendition. A package outlives
/// its publisher for `republishGrace`, so a republish continues the same playlists after a
/// discontinuity; afterwards it is dropped.
public final class PackagerHub: Sendable {
    /// How a stream is packaged, or nil when its channel enables no HTTP segment output.
    public typealias SettingsLookup = @Sendable (StreamID) async -> PackagingConfiguration?

    private struct Key: Hashable {
        var stream: StreamID
        var rendition: String
    }

    private struct Streams {
        var packages: [Key: StreamPackage] = [:]
        /// Sessions seen, packaged or not, so the lookup runs once per session.
        var sessions: [Key: UInt64] = [:]
        /// Per stream, the session its settings were looked up for, and the answer.
        var settings: [StreamID: (session: UInt64, configuration: PackagingConfiguration?)] = [:]
    }

    private let subscriptions: [BusSubscription]
    private let settings: SettingsLookup
    private let republishGrace: TimeInterval
    private let streams = NIOLockedValueBox(Streams())
    private let logger: Logger

    public init(bus: any EventBus, republishGrace: TimeInterval = 60, logger: Logger, settings: @escaping SettingsLookup) {
        subscriptions = [bus.subscribe(to: .mediaSource, from: .end), bus.subscribe(to: .mediaRenditions, from: .end)]
        self.settings = settings
        self.republishGrace = republishGrace
        self.logger = logger
    }

    /// The package of `stream` (or one of its renditions), live or kept for a republish.
    public func package(for stream: StreamID, rendition: String = "") -> StreamPackage? {
        streams.withLockedValue { $0.packages[Key(stream: stream, rendition: rendition)] }
    }

    /// The live renditions of `stream`, by name.
    public func renditions(of stream: StreamID) -> [String] {
        streams.withLockedValue { streams in
            streams.packages.filter { !$0.key.rendition.isEmpty && $0.key.stream == stream && $0.value.isLive }.map(\.key.rendition)
        }.sorted()
    }

    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for subscription in subscriptions {
                group.addTask {
                    for try await delivery in subscription {
                        guard case .frame(let frame) = delivery.record.value, let id = StreamID(delivery.record.key) else { continue }
                        await self.handle(frame, of: id, arrival: Date())
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    func handle(_ frame: MediaFrame, of id: StreamID, arrival: Date) async {
        var looked = streams.withLockedValue { $0.settings[id] }
        if looked?.session != frame.sessionID {
            looked = (frame.sessionID, await settings(id))
            streams.withLockedValue { $0.settings[id] = looked }
        }
        guard let streamConfiguration = looked?.configuration else {
            if frame.kind == .end { streams.withLockedValue { $0.settings[id] = nil } }
            return
        }
        let key: Key
        let configuration: PackagingConfiguration
        if frame.rendition == streamConfiguration.sourceRendition {
            (key, configuration) = (Key(stream: id, rendition: ""), streamConfiguration)
        } else if !frame.rendition.isEmpty {
            (key, configuration) = (Key(stream: id, rendition: frame.rendition), streamConfiguration.forRendition)
        } else {
            return  // a source another rendition stands in for
        }
        let (known, current) = streams.withLockedValue { ($0.sessions[key], $0.packages[key]) }
        if frame.kind == .end {
            guard known == frame.sessionID else { return }
            streams.withLockedValue { streams in
                streams.sessions[key] = nil
                // The stream's settings go with its last session (source and renditions end apart).
                if !streams.sessions.keys.contains(where: { $0.stream == id }) { streams.settings[id] = nil }
            }
            current?.finish(at: arrival)
            sweep(now: arrival)
            return
        }
        let package = known == frame.sessionID ? current : beginSession(frame.sessionID, of: key, configuration, at: arrival)
        guard let package, package.isLive else { return }
        do {
            try package.append(frame, arrival: arrival)
        } catch {
            logger.warning("frame not packaged", metadata: ["stream": "\(id)", "rendition": "\(frame.rendition)", "error": "\(error)"])
        }
    }

    /// The package the new session goes to, or nil when its channel packages nothing.
    private func beginSession(_ sessionID: UInt64, of key: Key, _ configuration: PackagingConfiguration,
                              at date: Date) -> StreamPackage? {
        sweep(now: date)
        let package: StreamPackage? = streams.withLockedValue { streams in
            streams.sessions[key] = sessionID
            guard configuration.isEnabled else {
                streams.packages[key] = nil
                return nil
            }
            if let kept = streams.packages[key], kept.configuration == configuration { return kept }
            let fresh = StreamPackage(streamID: key.stream, configuration: configuration)
            streams.packages[key] = fresh
            return fresh
        }
        package?.begin(sessionID: sessionID)
        if package != nil {
            logger.info("packaging stream", metadata: ["stream": "\(key.stream)", "rendition": "\(key.rendition)"])
        }
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
