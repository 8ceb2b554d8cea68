import ServiceLifecycle
import Workers

/// A node's roles made into services, in the order they start; SIGTERM stops them in the
/// reverse. The database, the bus and the fan-out hub first (they outlive the roles), then the
/// transcoder and the other workers, then the edge (commands, the status port, ingest, SRT,
/// WebRTC's transport and WHIP), last the API node's packager and HTTP service. Making it binds no port: listeners bind when the
/// `ServiceGroup` runs them, so tests read the list of any role without sockets.
struct NodeComposition {
    /// The transcoder, nil without the role.
    let transcoder: TranscodeWorker?
    let edge: NodeCore.Edge
    let status: NodeStatus
    /// Every service of the node, in start order.
    let services: [ServiceGroupConfiguration.ServiceConfiguration]

    init(_ core: NodeCore) {
        // Workers subscribe when made: only the node's own roles are made.
        let transcoder = core.transcodeWorker()
        let edge = core.edge()
        let status = NodeStatus(settings: core.settings, bus: core.bus, channels: core.stores.channels, sessions: core.sessions,
                                publishers: edge.environment.publishers, announcer: core.announcer, commands: edge.commands,
                                transcoder: transcoder)
        (self.transcoder, self.edge, self.status) = (transcoder, edge, status)
        services = core.sharedServices
            + core.transcoderServices(transcoder)
            + core.workerServices()
            + core.edgeServices(edge, status: status)
            + core.srtServices(edge)
            + core.webRTCServices(edge)
            + core.apiServices(edge, status: status)
    }
}
