import API
import ArgumentParser
import Events
import Fanout
import Ingest
import Logging
import NIOCore
import State
import Workers

/// What a node says about itself, on every role: `/readyz` and its `/metrics` values. Nodes with
/// the API role answer on their HTTP port (`sluice serve`, `sluice api`); ingest and worker
/// nodes on a small status port of their own (`--status-port`, `StatusService`), announced
/// like every other listener (`sluice: status listening on HOST:PORT`).
///
/// Ready means: the bus takes records, session state and the channel store answer, and on
/// ingest nodes the RTMP (and RTMPS) listeners are bound.
struct NodeStatus: Sendable {
    /// The status port when the flag and `SLUICE_STATUS_PORT` say nothing: 9102 on ingest nodes,
    /// 9103 on workers (so one of each fits on a host with the defaults).
    static func defaultPort(roles: Set<Role>) -> Int { roles.contains(.ingest) ? 9102 : 9103 }

    /// `--status-port`, else `SLUICE_STATUS_PORT`, else the role's default; 0 picks a free port.
    static func port(flag: Int?, environment: [String: String], roles: Set<Role>) throws -> Int {
        var port = flag
        if port == nil, let text = environment["SLUICE_STATUS_PORT"], !text.isEmpty {
            guard let number = Int(text) else { throw ValidationError("SLUICE_STATUS_PORT must be a port number.") }
            port = number
        }
        let chosen = port ?? defaultPort(roles: roles)
        guard (0...65535).contains(chosen) else { throw ValidationError("--status-port must be 0–65535.") }
        return chosen
    }

    let settings: ServeSettings
    let bus: any EventBus
    let channels: any ChannelStore
    let sessions: any SessionStore
    let publishers: PublisherRegistry
    let announcer: ReadyAnnouncer
    let commands: CommandService
    let transcoder: TranscodeWorker?

    /// Nil when the node can serve; otherwise what is wrong, for `/readyz`.
    func readiness() async -> String? {
        if let outage = bus.unavailability { return "The event bus is unreachable: \(outage)" }
        if settings.roles.contains(.ingest) {
            let listeners = settings.ingest.tls == nil ? ["rtmp"] : ["rtmp", "rtmps"]
            if let unbound = listeners.first(where: { !announcer.isBound($0) }) {
                return "The \(unbound.uppercased()) listener is not bound yet."
            }
        }
        return await Node.readiness(channels: channels, sessions: sessions)
    }

    /// The node's own values, besides the fan-out's, the bus's and the process's that every
    /// node's `ServerMetrics` reports.
    func metrics() -> [WorkerMetric] {
        var metrics = Role.allCases.map { role in
            WorkerMetric("sluice_node_role", "1 for each role this node runs.", labels: [("role", role.rawValue)],
                         value: settings.roles.contains(role) ? 1 : 0)
        }
        metrics.append(WorkerMetric("sluice_bus_unavailable", "1 while the event bus cannot take records (no broker answers).",
                                    value: bus.unavailability == nil ? 0 : 1))
        if settings.roles.contains(.ingest) {
            metrics.append(WorkerMetric("sluice_ingest_publishers", "Publishers connected to this node.",
                                        value: Double(publishers.count)))
        }
        metrics += transcoder.map(Node.workerMetrics) ?? []
        return metrics + commands.metrics
    }

    /// The status port's server, for nodes without the API role.
    func service(hub: FanoutHub, group: any EventLoopGroup, logger: Logger) -> StatusService {
        let status = self
        return StatusService(configuration: HTTPConfiguration(host: settings.httpHost, port: settings.statusPort),
                             metrics: serverMetrics(hub: hub), readiness: { await status.readiness() },
                             group: group, logger: logger) { [announcer] address in
            announcer.bound("status", address)
        }
    }

    /// The node's `/metrics`: the same names on every port that serves them.
    func serverMetrics(hub: FanoutHub, census: ViewerCensus? = nil) -> ServerMetrics {
        let status = self
        return ServerMetrics(hub: hub, sessions: sessions, bus: bus, census: census) { status.metrics() }
    }
}
