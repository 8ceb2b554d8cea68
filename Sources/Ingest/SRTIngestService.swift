import Events
import Fanout
import Logging
import NIOConcurrencyHelpers
import NIOCore
import SRT
import ServiceLifecycle
import State

/// The SRT listener: publishers push MPEG-TS over SRT into the same path as RTMP publishers, and
/// players take MPEG-TS over SRT from the same fan-out as every other protocol. Each caller's
/// streamid decides which (`SRTIngestAdmission`). On shutdown the listener and every connection
/// close; publishers end as disconnected.
public final class SRTIngestService: Service, Sendable {
    private let environment: IngestEnvironment
    private let configuration: SRTIngestConfiguration
    private let group: any EventLoopGroup
    private let onBound: @Sendable (Int) -> Void
    /// How often a publisher's link statistics are written to session state.
    private let statisticsInterval: Duration
    // the SRT publishers and their connections, for /metrics; written on the SRT thread, read by scrapes
    private let sessions = NIOLockedValueBox([ObjectIdentifier: (session: SRTPublishSession, connection: SRTConnection)]())

    /// - Parameter onBound: told the UDP port once the listener is bound (port 0 resolved).
    public init(environment: IngestEnvironment, configuration: SRTIngestConfiguration, group: any EventLoopGroup,
                statisticsInterval: Duration = .seconds(2), onBound: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.environment = environment
        self.configuration = configuration
        self.group = group
        self.statisticsInterval = statisticsInterval
        self.onBound = onBound
    }

    public func run() async throws {
        let policy = IngestPolicy(environment: environment, protocolName: "srt")
        let server = try SRTServer(configuration: configuration.server, admission: SRTIngestAdmission(policy: policy),
                                   handler: Handler(service: self, policy: policy),
                                   logger: environment.logger)
        let port: Int
        do {
            port = try server.start()
        } catch {
            throw IngestError(.bindFailed, "srt on \(configuration.host):\(configuration.port): \(error)")
        }
        environment.logger.info("listening", metadata: ["listener": "srt", "port": "\(port)"])
        onBound(port)
        try? await gracefulShutdown()
        environment.logger.info("stopping SRT", metadata: ["connections": "\(server.connections.count)"])
        // Publishers end as stopped by the server, as RTMP's do on shutdown.
        for entry in sessions.withLockedValue({ Array($0.values) }) { entry.session.stop(description: "Server shutting down.") }
        server.shutdown()
    }

    /// The SRT publishers on this node and their links' latest statistics.
    public var publisherLinks: [(stream: StreamID, statistics: SRTStatistics)] {
        sessions.withLockedValue { Array($0.values) }.compactMap { entry in
            entry.session.publisher.map { ($0.streamID, entry.connection.statistics) }
        }
    }

    /// Takes each accepted caller (on the SRT thread).
    private struct Handler: SRTConnectionHandler {
        let service: SRTIngestService
        let policy: IngestPolicy

        func accepted(_ connection: SRTConnection, acceptance: SRTAcceptance) {
            switch acceptance.context {
            case let pending as SRTPendingPublish: service.publish(connection, pending, policy: policy)
            case let request as SRTPlayRequest: service.play(connection, request)
            default: connection.close()
            }
        }
    }

    private func publish(_ connection: SRTConnection, _ pending: SRTPendingPublish, policy: IngestPolicy) {
        guard let grant = pending.claim() else {
            // Its lock was given back meanwhile: the caller publishes again.
            connection.close()
            return
        }
        let session = SRTPublishSession(connection: SRTPublisherConnection(connection: connection, peerIP: pending.peerIP),
                                        logger: environment.logger)
        let key = ObjectIdentifier(session)
        sessions.withLockedValue { $0[key] = (session, connection) }
        connection.onReceive({ session.received($0) }, onClose: { [sessions] in
            session.closed()
            sessions.withLockedValue { $0[key] = nil }
        })
        Task {
            await session.start(grant, policy: policy)
            await self.recordLink(of: session, on: connection)
        }
    }

    /// Writes the publisher's link statistics to session state every `statisticsInterval`
    /// until it ends, so every API node shows them.
    private func recordLink(of session: SRTPublishSession, on connection: SRTConnection) async {
        while let publisher = session.publisher, connection.isOpen {
            await publisher.noteLink(SRTLinkStatus(connection.statistics))
            try? await Task.sleep(for: statisticsInterval)
        }
    }

    private func play(_ connection: SRTConnection, _ request: SRTPlayRequest) {
        let viewer = SRTViewer(connection: connection, eventLoop: group.next(), logger: environment.logger)
        connection.onClose { viewer.eventLoop.execute { viewer.detach() } }
        let hub = environment.hub
        Task {
            guard let fanout = await hub.fanout(opening: request.streamID) else {
                connection.close()
                return
            }
            viewer.eventLoop.execute { viewer.attach(to: fanout) }
        }
    }
}

extension SRTLinkStatus {
    /// The figures of a publisher's link the streams API and the console show.
    init(_ statistics: SRTStatistics) {
        self.init(rttMs: statistics.rttMs, packetsReceived: statistics.packetsReceived, packetsLost: statistics.packetsLost,
                  packetsRetransmitted: statistics.packetsRetransmitted,
                  packetsReceivedRetransmitted: statistics.packetsReceivedRetransmitted, packetsDropped: statistics.packetsDropped,
                  receiveBufferMs: statistics.receiveBufferMs, mbpsReceive: statistics.mbpsReceive)
    }
}
