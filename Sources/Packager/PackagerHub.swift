import Events
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Packages live streams on this node for HTTP playback, fed from `sluice.media.source` and
/// `sluice.media.renditions`: one package per stream and per rendition. A package outlives
/// its publisher for `republishGrace`, so a republish continues the same playlists after a
/// discontinuity; afterwards it is dropped.
///
/// Which streams are read is the `Feed`'s choice: every stream on the bus, or (an API node)
/// only the streams HTTP requests ask for, while they ask (`PackagingFeed`).
public final class PackagerHub: Sendable {
    /// Where the hub's frames come from.
    public enum Feed: Sendable {
        /// Every stream on the bus, from the moment the hub exists.
        case everyStream
        /// A stream is read only while requests ask for it (`package(opening:…)`).
        case onDemand(PackagingFeed)
    }

    struct Key: Hashable {
        var stream: StreamID
        var rendition: String
    }

    /// A request waiting for a package to begin; `rendition` nil: any rendition's.
    struct Waiter {
        var id: UInt64
        var rendition: String?
        var promise: EventLoopPromise<StreamPackage?>
    }

    /// A stream read on demand.
    struct Reader {
        /// Tells this reading apart from an earlier or later one of the same stream.
        var generation: UInt64
        var lastRequest: NIODeadline
        var task: Task<Void, Never>?
        /// The renditions session state knew of when reading began; nil until then.
        var renditions: Set<String>?
    }

    struct Streams {
        var packages: [Key: StreamPackage] = [:]
        /// Sessions seen, packaged or not, so the lookup runs once per session.
        var sessions: [Key: UInt64] = [:]
        /// Per stream, the session its settings were looked up for, and the answer.
        var settings: [StreamID: (session: UInt64, configuration: PackagingConfiguration?)] = [:]
        /// On demand: the streams being read, and the requests waiting for a package.
        var readers: [StreamID: Reader] = [:]
        /// Readings told to stop and not finished yet: a new reading of the stream waits for its
        /// predecessor, so no frame of the old one reaches the new packages.
        var stopping: [StreamID: (generation: UInt64, task: Task<Void, Never>)] = [:]
        var waiters: [StreamID: [Waiter]] = [:]
        /// Packages read up to the live edge: a request waits for that, not just for the
        /// package's first frame (which, read from a few segments back, is seconds old).
        var caughtUp: Set<Key> = []
        var nextID: UInt64 = 0

        /// The package a waiter for `rendition` of `stream` (nil: any rendition) would get now.
        func package(of stream: StreamID, rendition: String?, caughtUpOnly: Bool) -> StreamPackage? {
            if let rendition {
                let key = Key(stream: stream, rendition: rendition)
                return !caughtUpOnly || caughtUp.contains(key) ? packages[key] : nil
            }
            return packages.first { key, package in
                key.stream == stream && !key.rendition.isEmpty && package.isLive && (!caughtUpOnly || caughtUp.contains(key))
            }?.value
        }

        /// Takes the waiters of `stream` that `rendition`'s package (or its absence) answers.
        /// Whether a request for `rendition` of `stream` can be told at once that there is none:
        /// reading has caught up (the source, or any rendition: a channel may package only its
        /// renditions), and the rendition was neither known when reading began nor packaged
        /// since (a rendition the channel's ladder does not make).
        func lacks(_ stream: StreamID, rendition: String?) -> Bool {
            guard let rendition, !rendition.isEmpty, let known = readers[stream]?.renditions,
                  caughtUp.contains(where: { $0.stream == stream }) else { return false }
            return !known.contains(rendition) && packages[Key(stream: stream, rendition: rendition)] == nil
        }

        /// The waiters `lacks` answers now, taken out.
        mutating func takeWaitersForMissingRenditions(of stream: StreamID) -> [Waiter] {
            guard let all = waiters[stream] else { return [] }
            let missing = all.filter { lacks(stream, rendition: $0.rendition) }
            waiters[stream] = all.filter { !lacks(stream, rendition: $0.rendition) }
            if waiters[stream]?.isEmpty == true { waiters[stream] = nil }
            return missing
        }

        mutating func takeWaiters(of stream: StreamID, answeredBy rendition: String?) -> [Waiter] {
            guard let all = waiters[stream] else { return [] }
            let answered = { (waiter: Waiter) in
                rendition == nil || waiter.rendition == rendition || (waiter.rendition == nil && rendition?.isEmpty == false)
            }
            waiters[stream] = all.filter { !answered($0) }
            if waiters[stream]?.isEmpty == true { waiters[stream] = nil }
            return all.filter(answered)
        }
    }

    /// Made at construction (`.everyStream`), so no frame published after the hub exists is missed.
    private let subscriptions: [BusSubscription]
    let bus: any EventBus
    let onDemand: PackagingFeed?
    /// Where each session's channel is read (outputs, HLS settings, the rendition playing as the
    /// source); nil: every stream packaged on the defaults.
    let channels: (any ChannelDirectory)?
    /// On demand, `sluice.channels` from its end: a ladder changed while live (`PackagerHub+ChannelChanges`).
    let channelChanges: BusSubscription?
    private let republishGrace: TimeInterval
    /// Where packages with a DVR window read the segments that left memory (any node's).
    public let dvr: DVRArchive?
    /// Guards packages, sessions, readers and waiting requests: requests ask synchronously on their event
    /// loops, readers change it from tasks; never held across an await.
    let streams = NIOLockedValueBox(Streams())
    let logger: Logger

    public init(bus: any EventBus, feed: Feed = .everyStream, channels: (any ChannelDirectory)?, republishGrace: TimeInterval = 60,
                dvr: DVRArchive? = nil, logger: Logger) {
        self.bus = bus
        self.dvr = dvr
        switch feed {
        case .everyStream:
            subscriptions = bus.subscribeToAllMedia()
            onDemand = nil
        case .onDemand(let feed):
            subscriptions = []
            onDemand = feed
        }
        self.channels = channels
        channelChanges = onDemand != nil && channels != nil ? bus.subscribe(to: .channels, from: .end) : nil
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

    /// Reads every stream (`.everyStream`) until the bus closes or the task is cancelled; on
    /// demand, waits for cancellation and then stops every read.
    public func run() async throws {
        if onDemand != nil {
            await withTaskGroup(of: Void.self) { group in
                if let channelChanges { group.addTask { await self.followChannelChanges(channelChanges) } }
                await waitForCancellation()
                group.cancelAll()
            }
            stopAllReaders()
            return
        }
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

    /// Packages `frame`; returns the key of the package it went to, if any.
    @discardableResult
    func handle(_ frame: MediaFrame, of id: StreamID, arrival: Date) async -> Key? {
        var looked = streams.withLockedValue { $0.settings[id] }
        if looked?.session != frame.sessionID {
            looked = (frame.sessionID, await configuration(of: id))
            streams.withLockedValue { $0.settings[id] = looked }
        }
        guard let streamConfiguration = looked?.configuration else {
            if frame.kind == .end { streams.withLockedValue { $0.settings[id] = nil } }
            answerWaiters(of: id, rendition: nil, with: nil)  // its channel packages nothing
            return nil
        }
        let key: Key
        let configuration: PackagingConfiguration
        if frame.rendition == streamConfiguration.sourceRendition {
            (key, configuration) = (Key(stream: id, rendition: ""), streamConfiguration)
        } else if !frame.rendition.isEmpty {
            (key, configuration) = (Key(stream: id, rendition: frame.rendition), streamConfiguration.forRendition)
        } else {
            return nil  // a source another rendition stands in for
        }
        let (known, current) = streams.withLockedValue { ($0.sessions[key], $0.packages[key]) }
        if frame.kind == .end {
            guard known == frame.sessionID else { return nil }
            streams.withLockedValue { streams in
                streams.sessions[key] = nil
                // The stream's settings go with its last session (source and renditions end apart).
                if !streams.sessions.keys.contains(where: { $0.stream == id }) { streams.settings[id] = nil }
            }
            current?.finish(at: arrival)
            sweep(now: arrival)
            return nil
        }
        let package = known == frame.sessionID ? current : beginSession(frame.sessionID, of: key, configuration, at: arrival)
        guard let package, package.isLive else { return nil }
        do {
            try package.append(frame, arrival: arrival)
        } catch {
            logger.warning("frame not packaged", metadata: ["stream": "\(id)", "rendition": "\(frame.rendition)", "error": "\(error)"])
        }
        return key
    }

    /// The package the new session goes to, or nil when its channel packages nothing.
    private func beginSession(_ sessionID: UInt64, of key: Key, _ configuration: PackagingConfiguration,
                              at date: Date) -> StreamPackage? {
        sweep(now: date)
        let reads = onDemand != nil
        let made: StreamPackage?? = streams.withLockedValue { streams in
            // On demand, packages exist only while the stream is read: the last frame of a
            // reader that was just stopped must not bring its packages back.
            if reads, streams.readers[key.stream] == nil { return .none }
            streams.sessions[key] = sessionID
            guard configuration.isEnabled else {
                streams.packages[key] = nil
                return .some(nil)
            }
            if let kept = streams.packages[key], kept.configuration == configuration { return kept }
            let fresh = StreamPackage(streamID: key.stream, configuration: configuration, rendition: key.rendition, archive: dvr)
            streams.packages[key] = fresh
            return fresh
        }
        guard let package = made else { return nil }
        package?.begin(sessionID: sessionID)
        if package != nil {
            logger.info("packaging stream", metadata: ["stream": "\(key.stream)", "rendition": "\(key.rendition)"])
        }
        if package == nil || onDemand == nil || streams.withLockedValue({ $0.caughtUp.contains(key) }) {
            answerWaiters(of: key.stream, rendition: key.rendition, with: package)
        }
        return package
    }

    /// Answers the requests waiting for `rendition`'s package of `stream` (nil: for any of its packages).
    func answerWaiters(of stream: StreamID, rendition: String?, with package: StreamPackage?) {
        let answered = streams.withLockedValue { $0.takeWaiters(of: stream, answeredBy: rendition) }
        for waiter in answered { waiter.promise.succeed(package) }
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
