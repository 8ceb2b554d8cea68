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

    private func has(_ role: Role) -> Bool { settings.roles.contains(role) }

    func run() async throws {
        let logger = Logger(label: "sluice")
        try FileManager.default.createDirectory(at: settings.dataDirectory, withIntermediateDirectories: true)
        // Metadata lives in PostgreSQL with --database (every node sees every change), else in
        // SQLite in the data dir.
        let stores = try await MetadataStores.open(settings, logger: logger)
        let (channels, keys, serverSettings) = (stores.channels, stores.keys, stores.serverSettings)
        let (webhookSettings, webhookDeliveries) = (stores.webhookSettings, stores.webhookDeliveries)
        let serves = has(.api)
        let newAdminKey = serves ? try await keys.ensureAdminKey(preset: settings.adminKey) : nil
        let announcer = ReadyAnnouncer(settings: settings, demo: serves ? try await demoChannel(channels) : nil)
        if let newAdminKey { announcer.announceAdminKey(newAdminKey) }

        let group = MultiThreadedEventLoopGroup(numberOfThreads: settings.eventLoops)
        let sessions: any SessionStore = settings.redis.map { RedisSessionStore(redis: $0) } ?? InMemorySessionStore()
        let bus: any EventBus
        // Ingest and transcode nodes record where readers joining a stream mid-session start.
        let playbackStarts = has(.ingest) || has(.transcode) ? PlaybackStartRecorder(sessions: sessions, logger: logger) : nil
        let nodeID = settings.ingest.nodeID
        if let kafka = settings.kafka {
            bus = try await KafkaEventBus.connect(kafka, source: nodeID, logger: logger) { stream, session, offset in
                playbackStarts?.keyframe(stream, session: session, offset: offset)
            } segmentStartAcknowledged: { playbackStarts?.segmentStart($0) }
        } else {
            bus = EmbeddedEventBus(journal: try EventJournal(directory: settings.dataDirectory.appendingPathComponent("events", isDirectory: true),
                                                             source: nodeID),
                                   keyframeAcknowledged: { playbackStarts?.keyframe($0, session: $1, offset: $2) },
                                   segmentStartAcknowledged: { playbackStarts?.segmentStart($0) })
        }
        // On one machine every consumer reads everything; in a cluster each worker kind is a
        // consumer group, and media workers pass over frames more than 10 s old (after a restart).
        let clustered = settings.kafka != nil
        func feed(_ name: String, media: Bool = true) -> WorkerFeed {
            clustered ? .group("sluice-\(name)", maxAge: media ? .seconds(10) : nil) : .fromNow
        }
        // Cluster workers take streams over mid-session (a rebalance): live work from the next
        // keyframe at most a few seconds back, recordings from the first keyframe read.
        let liveJoining = clustered ? SessionJoining(sessions: sessions) : nil
        let recordJoining = clustered ? SessionJoining(sessions: sessions, lookback: nil) : nil
        let font = settings.watermarkFont
        let hubFeed: FanoutHub.Feed = clustered ? .onDemand(.init { stream in
            try await sessions.playbackStart(of: stream).map { FanoutHub.StreamStart(headers: $0.headers, keyframeOffset: $0.keyframeOffset) }
        }) : .everyStream
        let hub = FanoutHub(bus: bus, feed: hubFeed, logger: logger) { stream in
            await Self.transcoding(of: stream, channels: channels, fontFile: font, logger: logger)?.playbackSource ?? ""
        }
        // Workers subscribe when made: only the node's own roles are made.
        // Cluster transcode workers agree by leases in Redis who transcodes a session, so a dead
        // worker's sessions move on within seconds, before the group's rebalance.
        let leasing = clustered ? settings.redis.map {
            TranscodeLeasing(leases: RedisLeaseStore(redis: $0), sessions: sessions, owner: nodeID)
        } : nil
        let transcoder = has(.transcode) ? TranscodeWorker(bus: bus, feed: feed("transcode"), joining: liveJoining, leasing: leasing,
                                                           logger: logger, headersChanged: {
            playbackStarts?.headers($0, rendition: $1, session: $2, $3)
        }) { stream in
            await Self.transcoding(of: stream, channels: channels, fontFile: font, logger: logger)
        } : nil
        let assetIndex = stores.assetIndex
        let assetStore: any AssetStore = settings.s3.map { S3AssetStore(configuration: $0) }
            ?? FilesystemAssetStore(root: settings.dataDirectory.appendingPathComponent("assets", isDirectory: true))
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: BusService(bus: bus))]
        if let database = stores.service { services.insert(.init(service: database), at: 0) }
        if clustered || settings.database != nil {
            // Settings saved through another node's API reach this one within two seconds.
            services.append(.init(service: SettingsReload(logger: logger) {
                try await serverSettings.reload()
                try await webhookSettings.reload()
            }))
        }
        if let playbackStarts { services.append(.init(service: playbackStarts)) }
        if has(.ingest) || has(.api) { services.append(.init(service: HubService(hub: hub))) }
        if let transcoder { services.append(.init(service: transcoder)) }
        if has(.snapshot) {
            services.append(.init(service: SnapshotWorker(bus: bus, feed: feed("snapshot"), index: assetIndex, store: assetStore, logger: logger) { stream in
                await Self.channel(of: stream, channels, logger: logger).flatMap(SnapshotWorker.Settings.init)
            }))
        }
        if has(.record) {
            // A cluster notes where each recording stands in the log, for a worker taking it over.
            let progress = clustered ? settings.redis.map(RedisRecordingProgressStore.init) : nil
            services.append(.init(service: VODWorker(bus: bus, feed: feed("vod"), joining: recordJoining, progress: progress,
                                                     index: assetIndex, store: assetStore, logger: logger) { stream in
                await Self.channel(of: stream, channels, logger: logger).flatMap(VODWorker.Settings.init)
            }))
            services.append(.init(service: MP4Worker(bus: bus, feed: feed("mp4"), joining: recordJoining, progress: progress,
                                                     index: assetIndex, store: assetStore,
                                                     workDirectory: settings.dataDirectory.appendingPathComponent("recording", isDirectory: true),
                                                     logger: logger) { stream in
                await Self.channel(of: stream, channels, logger: logger).flatMap(MP4Worker.Settings.init)
            }))
        }
        if has(.motion) {
            services.append(.init(service: MotionWorker(bus: bus, feed: feed("motion"), index: assetIndex, store: assetStore,
                                                        workDirectory: settings.dataDirectory.appendingPathComponent("motion", isDirectory: true),
                                                        logger: logger) { stream in
                await Self.channel(of: stream, channels, logger: logger).flatMap(MotionWorker.Settings.init)
            }))
        }
        if has(.retention) {
            services.append(.init(service: RetentionWorker(index: assetIndex, store: assetStore, logger: logger) {
                try await Self.allChannels(channels).map { ($0.streamName, $0.record.retentionDays) }
            }))
        }
        if has(.relay) {
            services.append(.init(service: RelayWorker(bus: bus, feed: feed("relay"), joining: liveJoining, sessions: sessions, group: group,
                                                       tls: settings.relayTLS, policy: settings.destinations, logger: logger) { stream in
                await Self.relayDestinations(of: stream, channels: channels, logger: logger)
            }))
        }
        if has(.webhooks) {
            services.append(.init(service: WebhookWorker(bus: bus, feed: feed("webhooks", media: false), settings: webhookSettings,
                                                         deliveries: webhookDeliveries, node: nodeID,
                                                         configuration: settings.webhooks, logger: logger) { stream in
                await Self.channel(of: stream, channels, logger: logger)?.webhooks ?? []
            }))
        }
        // Tickets of streams without a channel are signed with a secret every node of a cluster
        // has (the global push or admission secret); channels' tickets with their own secrets.
        let ticketSecret = [settings.ingest.pushSecret, settings.access.admissionSecret].compactMap { $0 }.first { !$0.isEmpty }
        let access = PlaybackAccess(channels: channels, configuration: settings.access, ticketSecret: ticketSecret, logger: logger)
        var environment = IngestEnvironment(configuration: settings.ingest, bus: bus, sessions: sessions,
                                            channels: channels, hub: hub, access: access, logger: logger)
        environment.playbackStarts = playbackStarts
        let publishers = environment.publishers
        // Every node reads every command; the one holding what it names acts (CommandService).
        let commands = CommandService(bus: bus, publishers: publishers, hub: hub, access: access, logger: logger) {
            try await serverSettings.reload()
            try await webhookSettings.reload()
        }
        let status = NodeStatus(settings: settings, bus: bus, channels: channels, sessions: sessions, publishers: publishers,
                                announcer: announcer, commands: commands, transcoder: transcoder)
        services.append(.init(service: commands))
        if !serves { services.append(.init(service: status.service(hub: hub, group: group, logger: logger))) }
        if has(.ingest) || has(.api) {
            // Any node may end a silent node's sessions; the first to see it does.
            services.append(.init(service: NodeWatch(environment: environment, ttl: settings.nodeTTL)))
        }
        if has(.ingest) {
            // Publishers whose channel is disabled, deleted, expired or re-keyed are stopped.
            services.append(.init(service: PublishRevalidation(environment: environment)))
            services.append(.init(service: IngestService(environment: environment, group: group) { listener, address in
                announcer.bound(listener.rawValue, address)
            }))
        }
        // Settings saved through this node's API are read again by every node at once (they
        // also re-read them every two seconds).
        let settingsChanged: @Sendable () -> Void = {
            do {
                try commands.send(.reloadSettings)
            } catch {
                logger.error("settings.reload not sent", metadata: ["error": "\(error)"])
            }
        }
        if serves {
            // Streams are packaged only while HTTP requests ask for them.
            let packager = PackagerHub(bus: bus, feed: .onDemand(.fromSessionState(sessions)), logger: logger) { stream in
                await Self.packaging(of: stream, channels: channels, fontFile: font, logger: logger)
            }
            let api = APIRouter(keys: keys, channels: ChannelsAPI(store: channels, urls: { announcer.bases.overridden(by: serverSettings.current) },
                                                                  destinations: settings.destinations, announce: { event in
                do {
                    try bus.publish(BusRecord(key: event.key, value: .channel(event)), to: .channels)
                } catch {
                    logger.error("channel event not published", metadata: ["type": "\(event.type)", "error": "\(error)"])
                }
            }, playbackRulesChanged: { stream in
                do {
                    try commands.send(.dropViewers(DropViewers(streamID: stream)))
                } catch {
                    logger.error("viewers.drop not sent", metadata: ["stream": "\(stream)", "error": "\(error)"])
                }
            }), streams: StreamsAPI(sessions: sessions, hub: hub) { stream, session in
                try commands.send(.kickPublisher(KickPublisher(streamID: stream, sessionID: session)))
            }, settings: serverSettings,
                                assets: AssetsAPI(index: assetIndex, store: assetStore),
                                webhooks: WebhooksAPI(settings: webhookSettings, deliveries: webhookDeliveries,
                                                      destinations: settings.destinations, changed: settingsChanged),
                                settingsChanged: settingsChanged)
            let http = HTTPService(configuration: HTTPConfiguration(host: settings.httpHost, port: settings.httpPort),
                                   hub: hub, api: api, packager: packager, access: access,
                                   metrics: status.serverMetrics(hub: hub), readiness: { await status.readiness() }, recorded: Self.recordedMedia(index: assetIndex, store: assetStore),
                                   group: group, logger: logger) { address in
                announcer.bound("http", address)
            }
            services += [.init(service: PackagerService(packager: packager)), .init(service: http)]
        }
        let serviceGroup = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        logger.info("node starting", metadata: ["node": "\(nodeID)", "roles": "\(settings.roles.map(\.rawValue).sorted())",
                                                "bus": "\(clustered ? "kafka" : "embedded")"])
        try await serviceGroup.run()
        try await group.shutdownGracefully()
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

    /// A stream's HTTP packaging from its channel's outputs and HLS settings; every output on
    /// the defaults for a stream without a channel (the `--push-secret` mode).
    static func packaging(of stream: StreamID, channels: any ChannelStore, fontFile: String,
                          logger: Logger) async -> PackagingConfiguration? {
        guard let id = ChannelID(stream.rawValue) else { return PackagingConfiguration() }
        do {
            guard let channel = try await channels.channel(id) else { return PackagingConfiguration() }
            let transcoding = await transcoding(of: stream, channels: channels, fontFile: fontFile, logger: logger)
            return PackagingConfiguration(segmentSeconds: channel.hls.segmentSeconds, listSize: channel.hls.listSize,
                                          partSeconds: channel.hls.partSeconds ?? 0.5, hls: channel.outputs.hls,
                                          llhls: channel.outputs.llhls, dash: channel.outputs.dash,
                                          sourceRendition: transcoding?.playbackSource ?? "")
        } catch {
            logger.error("channel lookup failed; stream not packaged", metadata: ["stream": "\(stream)", "error": "\(error)"])
            return nil
        }
    }

    /// A stream's transcoding from its channel (ladder, watermark text and uploaded image); nil
    /// for none, or for streams without a channel.
    static func transcoding(of stream: StreamID, channels: any ChannelStore, fontFile: String,
                            logger: Logger) async -> TranscodeSettings? {
        guard let id = ChannelID(stream.rawValue) else { return nil }
        do {
            guard let channel = try await channels.channel(id) else { return nil }
            let image = channel.watermark.image.enabled ? try await channels.watermarkImage(of: id)?.bytes : nil
            return TranscodeSettings(channel: channel, image: image, fontFile: fontFile)
        } catch {
            logger.error("channel lookup failed; stream not transcoded", metadata: ["stream": "\(stream)", "error": "\(error)"])
            return nil
        }
    }


    /// A stream's channel, for the recording workers' settings; nil for streams without one, or
    /// when the store fails (logged; the stream is then not recorded this session).
    static func channel(of stream: StreamID, _ channels: any ChannelStore, logger: Logger) async -> StreamChannel? {
        guard let id = ChannelID(stream.rawValue) else { return nil }
        do {
            return try await channels.channel(id)
        } catch {
            logger.error("channel lookup failed; its settings are not applied this time", metadata: ["stream": "\(stream)", "error": "\(error)"])
            return nil
        }
    }

    /// Snapshots and VOD recordings for HTTP, from the asset listing and store.
    static func recordedMedia(index: any AssetIndex, store: any AssetStore) -> RecordedMedia {
        RecordedMedia(latestSnapshot: { stream in
            guard let asset = try await index.latest(.snapshot, of: stream),
                  let jpeg = try await store.get(asset.location) else { return nil }
            return (ByteBuffer(bytes: jpeg), "\"\(asset.id)\"")
        }, vodRecording: { session in
            guard let playlist = try await index.asset(.vodPlaylist, session: session) else { return nil }
            return VODRecording(stream: playlist.streamID,
                                folder: playlist.location.split(separator: "/").dropLast().joined(separator: "/"))
        }, read: { location in
            try await store.get(location).map { ByteBuffer(bytes: $0) }
        }, source: { location in
            try await store.source(of: location)
        })
    }



    /// Every channel, page by page.
    static func allChannels(_ channels: any ChannelStore) async throws -> [StreamChannel] {
        var all: [StreamChannel] = []
        var after: String?
        repeat {
            let page = try await channels.list(nameContains: nil, limit: 500, after: after)
            all += page.channels
            after = page.next
        } while after != nil
        return all
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

    /// The enabled relay URLs of a stream's channel; none for streams without one.
    static func relayDestinations(of stream: StreamID, channels: any ChannelStore, logger: Logger) async -> [String] {
        guard let id = ChannelID(stream.rawValue) else { return [] }
        do {
            return try await channels.channel(id)?.relays.filter(\.enabled).map(\.url) ?? []
        } catch {
            logger.error("channel lookup failed; stream not relayed", metadata: ["stream": "\(stream)", "error": "\(error)"])
            return []
        }
    }

    /// The first channel, made ("Demo") when there is none, so a new install has a URL to push to.
    private func demoChannel(_ channels: any ChannelStore) async throws -> (channel: StreamChannel, secret: String)? {
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

/// Runs the fan-out hub until shutdown.
struct HubService: Service {
    let hub: FanoutHub

    func run() async throws {
        try await cancelWhenGracefulShutdown { try await hub.run() }
    }
}
