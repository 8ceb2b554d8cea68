import Ingest
import NIOCore

/// The ingest role's SRT listener: publish and play over SRT beside RTMP, through the same
/// publish path and fan-out.
extension NodeCore {
    func srtServices(_ edge: Edge) -> Services {
        guard has(.ingest) else { return [] }
        let (announcer, host) = (announcer, settings.srt.host)
        return [.init(service: SRTIngestService(environment: edge.environment, configuration: settings.srt, group: group) { port in
            if let address = try? SocketAddress(ipAddress: host, port: port) { announcer.bound("srt", address) }
        })]
    }
}
