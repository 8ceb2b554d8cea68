import Events
import Fanout
import Foundation
import Ingest
import Logging
import NIOPosix
import ServiceLifecycle
import State
import Workers

/// What every role of a node shares, made once before the roles: metadata stores, session
/// state, the event bus (Kafka in a cluster, the embedded journaled log on one machine), the
/// fan-out hub and the event loops. The roles' compositions (`transcodeWorker`, `workerServices`,
/// `edge`/`edgeServices`, `apiServices`) take what they need from here; hubs and workers get the
/// channel store (a `ChannelDirectory`) and read what they need of a stream's channel themselves.
struct NodeCore {
    let settings: ServeSettings
    let logger: Logger
    let stores: MetadataStores
    let sessions: any SessionStore
    let bus: any EventBus
    /// Ingest and transcode nodes record where readers joining a stream mid-session start.
    let playbackStarts: PlaybackStartRecorder?
    let group: MultiThreadedEventLoopGroup
    let hub: FanoutHub
    let announcer: ReadyAnnouncer
    /// Where assets are stored: S3 with `--s3-*`, else the data dir.
    let assetStore: any AssetStore

    var nodeID: String { settings.ingest.nodeID }
    /// A cluster node (Kafka), not `sluice serve` on one machine.
    var clustered: Bool { settings.kafka != nil }
    func has(_ role: Role) -> Bool { settings.roles.contains(role) }

    static func open(_ settings: ServeSettings, logger: Logger) async throws -> NodeCore {
        // FFmpeg's log goes to the node's log, whichever part opens a codec first.
        FFmpegLog.install
        try FileManager.default.createDirectory(at: settings.dataDirectory, withIntermediateDirectories: true)
        // Metadata lives in PostgreSQL with --database (every node sees every change), else in
        // SQLite in the data dir.
        let stores = try await MetadataStores.open(settings, logger: logger)
        let serves = settings.roles.contains(.api)
        let newAdminKey = serves ? try await stores.keys.ensureAdminKey(preset: settings.adminKey) : nil
        let announcer = ReadyAnnouncer(settings: settings, demo: serves ? try await Node.demoChannel(stores.channels) : nil)
        if let newAdminKey { announcer.announceAdminKey(newAdminKey) }

        let (bus, acknowledgements) = try await openBus(settings, logger: logger)
        return assemble(settings, stores: stores, announcer: announcer, bus: bus, acknowledgements: acknowledgements, logger: logger)
    }

    /// Kafka with `--kafka`, else the embedded log journaled to the data dir; with where either
    /// says keyframes and segment starts landed.
    private static func openBus(_ settings: ServeSettings,
                                logger: Logger) async throws -> (any EventBus, AsyncStream<BusAcknowledgement>) {
        let nodeID = settings.ingest.nodeID
        if let kafka = settings.kafka {
            let bus = try await KafkaEventBus.connect(kafka, source: nodeID, logger: logger)
            return (bus, bus.acknowledgedStarts)
        }
        let journal = try EventJournal(directory: settings.dataDirectory.appendingPathComponent("events", isDirectory: true),
                                       source: nodeID)
        let bus = EmbeddedEventBus(journal: journal)
        return (bus, bus.acknowledgedStarts)
    }

    /// On one machine every consumer reads everything; in a cluster each worker kind is a
    /// consumer group, and media workers pass over frames more than 10 s old (after a restart).
    func feed(_ name: String, media: Bool = true) -> WorkerFeed {
        clustered ? .group("sluice-\(name)", maxAge: media ? .seconds(10) : nil) : .fromNow
    }

    /// What runs first and stops last on every node: the database, the bus, the periodic
    /// settings reload of a cluster, the playback-start recorder and the fan-out hub.
    var sharedServices: [ServiceGroupConfiguration.ServiceConfiguration] {
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: BusService(bus: bus))]
        if let database = stores.service { services.insert(.init(service: database), at: 0) }
        if clustered || settings.database != nil {
            // Settings saved through another node's API reach this one within two seconds.
            let (server, webhooks) = (stores.serverSettings, stores.webhookSettings)
            services.append(.init(service: SettingsReload(logger: logger) {
                try await server.reload()
                try await webhooks.reload()
            }))
        }
        if let playbackStarts { services.append(.init(service: playbackStarts)) }
        if has(.ingest) || has(.api) { services.append(.init(service: HubService(hub: hub))) }
        return services
    }
}
