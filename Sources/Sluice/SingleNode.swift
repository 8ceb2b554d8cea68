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

/// Prints each listener's address on stdout (tests and scripts read these lines) and, once
/// RTMP and HTTP are both up, sample push and play URLs.
final class ReadyAnnouncer: Sendable {
    private let settings: ServeSettings
    private let ports = NIOLockedValueBox([String: Int]())

    init(settings: ServeSettings) {
        self.settings = settings
    }

    func bound(_ listener: String, _ address: SocketAddress) {
        let port = address.port ?? 0
        let all = ports.withLockedValue { ports -> [String: Int] in
            ports[listener] = port
            return ports
        }
        emit("sluice: \(listener) listening on \(address.ipAddress ?? settings.httpHost):\(port)")
        guard let rtmp = all["rtmp"], let http = all["http"], all.count == (settings.ingest.tls == nil ? 2 : 3) else {
            return
        }
        emit(samples(rtmp: rtmp, http: http, rtmps: all["rtmps"]))
    }

    private func samples(rtmp: Int, http: Int, rtmps: Int?) -> String {
        let host = settings.publicHost
        let id = "demo"
        let expires = Int64(Date().timeIntervalSince1970) + 24 * 3600
        let sign = PushSignature(secret: settings.ingest.pushSecret).sign(path: "/stream/\(id)", expires: expires)
        var lines = [
            "",
            "Push (ffmpeg):   rtmp://\(host):\(rtmp)/stream/\(id)?sign=\(sign)",
            "Push (OBS):      server rtmp://\(host):\(rtmp)/stream  stream key \(id)?sign=\(sign)",
        ]
        if let rtmps { lines.append("Push (RTMPS):    rtmps://\(host):\(rtmps)/stream/\(id)?sign=\(sign)") }
        lines += [
            "Play (HTTP-FLV): http://\(host):\(http)/\(id)/live.flv",
            "Play (RTMP):     rtmp://\(host):\(rtmp)/stream/\(id)",
            "The sample push URL is valid for 24 hours.",
        ]
        if settings.generatedSecret {
            lines.append("No --push-secret or SLUICE_PUSH_SECRET was set: a random secret is used until restart.")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes straight to file descriptor 1: `print` buffers when stdout is a pipe.
    private func emit(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}
