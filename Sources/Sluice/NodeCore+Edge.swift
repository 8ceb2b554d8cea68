import API
import Access
import Events
import Fanout
import Ingest
import Logging
import Packager
import ServiceLifecycle
import State
import Workers

/// The roles that face publishers and viewers: the command service every node runs, the
/// status port of nodes without the API, ingest (RTMP/RTMPS) and the API node's HTTP edge.
extension NodeCore {
    /// What the edge roles share: the play checks every protocol goes through, the ingest
    /// environment (its publishers are what a `publisher.kick` stops) and the command service.
    struct Edge {
        let access: PlaybackAccess
        let environment: IngestEnvironment
        let commands: CommandService
        /// Viewers of every protocol on this node and, from session state, the cluster's.
        let viewers: ViewerCensus
        /// The API node's WebRTC transport and WHEP playback; nil without (`NodeCore+WebRTC`).
        let webRTC: WebRTCParts?
        /// WHIP publishing on the API node, through `environment` like RTMP.
        let whip: WHIPIngestService?
    }

    func edge() -> Edge {
        // Tickets of streams without a channel are signed with a secret every node of a cluster
        // has (the global push or admission secret); channels' tickets with their own secrets.
        let ticketSecret = [settings.ingest.pushSecret, settings.access.admissionSecret].compactMap { $0 }.first { !$0.isEmpty }
        let access = PlaybackAccess(channels: stores.channels, configuration: settings.access, ticketSecret: ticketSecret,
                                    logger: logger)
        var environment = IngestEnvironment(configuration: settings.ingest, bus: bus, sessions: sessions,
                                            channels: stores.channels, hub: hub, access: access, logger: logger)
        environment.playbackStarts = playbackStarts
        // Every node reads every command; the one holding what it names acts (CommandService).
        let (server, webhooks) = (stores.serverSettings, stores.webhookSettings)
        let commands = CommandService(bus: bus, publishers: environment.publishers, hub: hub, access: access, logger: logger) {
            try await server.reload()
            try await webhooks.reload()
        }
        let webRTC = webRTCParts()
        let viewers = ViewerCensus(node: nodeID, hub: hub, http: HTTPViewerSessions(), sessions: sessions, webRTC: webRTC?.whep)
        return Edge(access: access, environment: environment, commands: commands, viewers: viewers, webRTC: webRTC,
                    whip: whipIngest(webRTC, environment: environment))
    }

    /// Commands, the status port (nodes without the API), the watch on silent nodes and ingest.
    func edgeServices(_ edge: Edge, status: NodeStatus) -> Services {
        var services: Services = [.init(service: edge.commands)]
        if !has(.api) { services.append(.init(service: status.service(hub: hub, group: group, logger: logger))) }
        if has(.ingest) || has(.api) {
            // Any node may end a silent node's sessions; the first to see it does.
            services.append(.init(service: NodeWatch(environment: edge.environment, ttl: settings.nodeTTL)))
            // Viewer reports for the cluster's sums, and the history of streams published here.
            services.append(.init(service: StreamSampler(census: edge.viewers, bus: bus, logger: logger)))
        }
        if has(.ingest) || edge.whip != nil {
            // Publishers whose channel is disabled, deleted, expired or re-keyed are stopped:
            // RTMP and SRT on ingest nodes, WHIP on API nodes.
            services.append(.init(service: PublishRevalidation(environment: edge.environment)))
        }
        if has(.ingest) {
            let announcer = announcer
            services.append(.init(service: IngestService(environment: edge.environment, group: group) { listener, address in
                announcer.bound(listener.rawValue, address)
            }))
        }
        return services
    }

    /// The API node's packager and HTTP edge: the API, playback, pages, health and metrics.
    func apiServices(_ edge: Edge, status: NodeStatus) -> Services {
        guard has(.api) else { return [] }
        // Streams are packaged only while HTTP requests ask for them.
        let packager = PackagerHub(bus: bus, feed: .onDemand(PackagingFeed(sessions: sessions)), channels: stores.channels,
                                   dvr: DVRArchive(index: stores.assetIndex, store: assetStore), logger: logger)
        let announcer = announcer
        // Every API node indexes the channels' events from the log (one machine: its journal too).
        let timeline = ChannelTimelineFeed(bus: bus, journal: settings.kafka == nil ? settings.dataDirectory.appendingPathComponent("events", isDirectory: true) : nil,
                                           logger: logger)
        let http = HTTPService(configuration: HTTPConfiguration(host: settings.httpHost, port: settings.httpPort),
                               hub: hub, api: apiRouter(edge.commands, viewers: edge.viewers, timeline: timeline), packager: packager,
                               access: edge.access,
                               metrics: status.serverMetrics(hub: hub, census: edge.viewers), readiness: { await status.readiness() },
                               recorded: RecordedMedia(index: stores.assetIndex, store: assetStore),
                               viewers: edge.viewers.http, whep: edge.webRTC?.whep, whip: edge.whip, group: group,
                               logger: logger) { address in
            announcer.bound("http", address)
        }
        return [.init(service: PackagerService(packager: packager)), .init(service: timeline), .init(service: http)]
    }

    /// The REST API; what it changes for the whole cluster goes out as events and commands.
    private func apiRouter(_ commands: CommandService, viewers: ViewerCensus, timeline: ChannelTimelineFeed) -> APIRouter {
        let (bus, logger, announcer, serverSettings) = (bus, logger, announcer, stores.serverSettings)
        // Settings saved through this node's API are read again by every node at once (they
        // also re-read them every two seconds).
        let settingsChanged: @Sendable () -> Void = {
            do {
                try commands.send(.reloadSettings)
            } catch {
                logger.error("settings.reload not sent", metadata: ["error": "\(error)"])
            }
        }
        let channels = ChannelsAPI(store: stores.channels, urls: { announcer.bases.overridden(by: serverSettings.current) },
                                   destinations: settings.destinations, sessions: sessions, timeline: timeline, announce: { event in
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
        })
        return APIRouter(keys: stores.keys, channels: channels, streams: StreamsAPI(sessions: sessions, hub: hub, census: viewers) { stream, session in
            try commands.send(.kickPublisher(KickPublisher(streamID: stream, sessionID: session)))
        }, settings: serverSettings, assets: AssetsAPI(index: stores.assetIndex, store: assetStore),
                         webhooks: WebhooksAPI(settings: stores.webhookSettings, deliveries: stores.webhookDeliveries,
                                               destinations: settings.destinations, changed: settingsChanged),
                         settingsChanged: settingsChanged)
    }
}
