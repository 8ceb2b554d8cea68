import API
import Access
import Events
import Fanout
import Foundation
import Ingest
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Packager
import ServiceLifecycle
import State
import Workers

/// The composition of every node command. `sluice serve` runs every role on the embedded bus
/// (journaled to the data dir) with session state in memory (or Redis with `--redis`); cluster
/// nodes (`ingest`, `api`, `worker`) run their roles on Kafka and Redis. One `ServiceGroup`
/// drains in reverse order on SIGTERM or SIGINT.
struct Node {
    let settings: ServeSettings

    func run() async throws {
        let logger = Logger(label: "sluice")
        let core = try await NodeCore.open(settings, logger: logger)
        let services = NodeComposition(core).services  // started in order, stopped in the reverse
        let serviceGroup = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        logger.info("node starting", metadata: ["node": "\(core.nodeID)", "roles": "\(settings.roles.map(\.rawValue).sorted())",
                                                "bus": "\(core.clustered ? "kafka" : "embedded")"])
        try await serviceGroup.run()
        try await core.group.shutdownGracefully()
    }

    /// The data dir 0700 and its database files 0600, also when an older Sluice (or another
    /// umask) made them readable to others.
    static func restrictToOwner(_ folder: URL, files: [String]) throws {
        let manager = FileManager.default
        try manager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: folder.path)
        for file in files.map({ folder.appendingPathComponent($0).path }) where manager.fileExists(atPath: file) {
            try manager.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        }
    }

    /// The transcoder's numbers for `/metrics`.
    static func workerMetrics(transcoder: TranscodeWorker) -> [WorkerMetric] {
        var metrics = [
            WorkerMetric("sluice_transcode_streams", "Streams being transcoded on this node.", value: Double(transcoder.activeStreams)),
            WorkerMetric("sluice_transcode_dropped_frames_total", "Source video frames skipped because transcoding fell behind.",
                         .counter, value: Double(transcoder.droppedFrames)),
        ]
        for quantile in [0.5, 0.95] {
            guard let milliseconds = transcoder.latency.quantile(quantile) else { continue }
            metrics.append(WorkerMetric("sluice_transcode_latency_seconds",
                                        "Time from a source frame's arrival to its rendition frames, recent frames.",
                                        labels: [("quantile", "\(quantile)")], value: milliseconds / 1000))
        }
        return metrics
    }

    /// What `/readyz` reports: the channel database and session state must answer. (The embedded
    /// bus lives and dies with the process.)
    static func readiness(channels: any ChannelStore, sessions: any SessionStore) async -> String? {
        do {
            _ = try await channels.list(nameContains: nil, limit: 1, after: nil)
        } catch {
            return "The channel store does not answer: \(error)"
        }
        do {
            _ = try await sessions.liveSessions()
        } catch {
            return "Session state does not answer: \(error)"
        }
        return nil
    }

    /// The first channel, made ("Demo") when there is none, so a new install has a URL to push to.
    static func demoChannel(_ channels: any ChannelStore) async throws -> (channel: StreamChannel, secret: String)? {
        var channel = try await channels.list(nameContains: nil, limit: 1, after: nil).channels.first
        if channel == nil {
            var outputs = StreamChannel.Outputs()
            (outputs.hls, outputs.llhls, outputs.dash) = (true, true, true)
            channel = try await channels.create(StreamChannel(name: "Demo", outputs: outputs), pushSecret: ChannelsAPI.randomSecret())
        }
        guard let channel else { return nil }
        return try await channels.pushSecret(of: channel.id).map { (channel, $0) }
    }
}

/// Closes the bus last, after every producer and consumer stopped (Kafka: flushes first).
struct BusService: Service {
    let bus: any EventBus

    func run() async throws {
        try? await gracefulShutdown()
        await bus.shutdown()
    }
}

/// Re-reads the shared settings every two seconds (cluster nodes).
struct SettingsReload: Service {
    let logger: Logger
    let reload: @Sendable () async throws -> Void

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(2))
                do {
                    try await reload()
                } catch {
                    logger.warning("settings not reloaded", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}

/// Runs the HLS/LL-HLS/DASH packager until shutdown.
struct PackagerService: Service {
    let packager: PackagerHub

    func run() async throws {
        try await cancelWhenGracefulShutdown { try await packager.run() }
    }
}

/// Hands the transcoder's header changes to the playback-start recorder: Workers may not import
/// Ingest, so the composition carries them across.
struct RenditionHeadersRecording: Service {
    let transcoder: TranscodeWorker
    let recorder: PlaybackStartRecorder

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await change in transcoder.headerChanges {
                recorder.headers(change.stream, rendition: change.rendition, session: change.session, change.headers)
            }
        }
    }
}

/// Runs the fan-out hub until shutdown.
struct HubService: Service {
    let hub: FanoutHub

    func run() async throws {
        try await cancelWhenGracefulShutdown { try await hub.run() }
    }
}
