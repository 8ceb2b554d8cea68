import Ingest
import Logging
import NIOCore
import ServiceLifecycle
import WebRTC
import WebRTCMedia

/// The API role's WebRTC: one UDP transport for every session (ICE-lite, DTLS-SRTP with this
/// node's certificate), WHEP playback from the fan-out (a cluster's API node reads the stream
/// from the log for its first viewer, as for HTTP-FLV) and WHIP publishing through the node's
/// ingest environment (push signature, admission hook and the cluster-wide publish lock, as RTMP).
extension NodeCore {
    /// The transport and what plays from it.
    struct WebRTCParts {
        let server: WebRTCServer
        let whep: WHEPService
    }

    /// The transport and WHEP; nil without the API role, with `--no-webrtc`, or when no
    /// certificate could be made (logged: the node then serves everything else).
    func webRTCParts() -> WebRTCParts? {
        guard has(.api), let configuration = settings.webRTC else { return nil }
        let certificate: RTCCertificate
        do {
            certificate = try RTCCertificate.generate()
        } catch {
            logger.critical("WebRTC is off: no DTLS certificate could be made", metadata: ["error": "\(error)"])
            return nil
        }
        let server = WebRTCServer(configuration: configuration, certificate: certificate, group: group, logger: logger)
        return WebRTCParts(server: server, whep: WHEPService(server: server, hub: hub, logger: logger))
    }

    /// WHIP's publishes, made with the edge's ingest environment; nil without the transport.
    func whipIngest(_ parts: WebRTCParts?, environment: IngestEnvironment) -> WHIPIngestService? {
        parts.map { WHIPIngestService(environment: environment, server: $0.server) }
    }

    /// The transport (bound when the group starts it, announced as `webrtc`) and WHIP ingest,
    /// which stops before the transport closes its sessions.
    func webRTCServices(_ edge: Edge) -> Services {
        guard let parts = edge.webRTC else { return [] }
        let (announcer, host) = (announcer, parts.server.configuration.host)
        var services: Services = [.init(service: WebRTCTransportService(server: parts.server) { port in
            if let address = try? SocketAddress(ipAddress: host, port: port) { announcer.bound("webrtc", address) }
        })]
        if let whip = edge.whip { services.append(.init(service: whip)) }
        return services
    }
}

/// Runs the WebRTC transport as a service: binds its UDP socket, and on shutdown closes every
/// session (DTLS close_notify) and the socket.
struct WebRTCTransportService: Service {
    let server: WebRTCServer
    /// Told the bound port (`--webrtc-port 0` lets the kernel pick).
    let onBound: @Sendable (Int) -> Void

    func run() async throws {
        onBound(try await server.start())
        try? await gracefulShutdown()
        await server.shutdown()
    }
}
