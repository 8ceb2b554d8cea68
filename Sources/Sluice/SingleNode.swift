import API
import Events
import Fanout
import Foundation
import Ingest
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle
import State

/// The composition of `sluice serve`: embedded bus, in-memory session state, one fan-out hub,
/// the RTMP ingest and the HTTP service, in one `ServiceGroup` that drains in reverse order on
/// SIGTERM or SIGINT.
struct SingleNode {
    let settings: ServeSettings

    func run() async throws {
        let logger = Logger(label: "sluice")
        try FileManager.default.createDirectory(at: settings.dataDirectory, withIntermediateDirectories: true)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: settings.eventLoops)
        let bus = EmbeddedEventBus()
        let hub = FanoutHub(bus: bus, logger: logger)
        let environment = IngestEnvironment(configuration: settings.ingest, bus: bus, sessions: InMemorySessionStore(),
                                            hub: hub, logger: logger)
        let announcer = ReadyAnnouncer(settings: settings)
        let ingest = IngestService(environment: environment, group: group) { listener, address in
            announcer.bound(listener.rawValue, address)
        }
        let http = HTTPService(configuration: HTTPConfiguration(host: settings.httpHost, port: settings.httpPort),
                               hub: hub, group: group, logger: logger) { address in
            announcer.bound("http", address)
        }
        let services = ServiceGroup(configuration: .init(
            services: [.init(service: BusService(bus: bus)), .init(service: HubService(hub: hub)),
                       .init(service: ingest), .init(service: http)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        try await services.run()
        try await group.shutdownGracefully()
    }
}

/// Closes the embedded bus last, after every producer and consumer stopped.
struct BusService: Service {
    let bus: EmbeddedEventBus

    func run() async throws {
        try? await gracefulShutdown()
        await bus.shutdown()
    }
}

/// Runs the fan-out hub until shutdown.
struct HubService: Service {
    let hub: FanoutHub

    func run() async throws {
        try await cancelWhenGracefulShutdown { try await hub.run() }
    }
}
