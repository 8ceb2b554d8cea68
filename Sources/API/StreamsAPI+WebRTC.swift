import Events
import WebRTCMedia

extension StreamsAPI {
    /// A WHEP viewer as the streams API lists it: where it plays from and how its link fares.
    /// The session id is left out: it is what ends the session (`DELETE`), so only its viewer
    /// holds it.
    struct WebRTCViewer: Encodable, Equatable {
        /// The API node it plays from.
        var node: String
        var clientIP: String?
        /// Round-trip time from the viewer's receiver reports, ms; absent before the first.
        var rttMs: Double?
        /// Fraction of packets the viewer reported lost in its last report, 0…1.
        var fractionLost: Double
        /// Packets the viewer reported lost in all.
        var packetsLost: Int
        /// NACKs the viewer sent (each asks for packets again).
        var nacks: Int
        /// Picture-loss indications (PLI, FIR) the viewer sent.
        var keyframeRequests: Int
        /// Packets sent again in answer to NACKs.
        var retransmitted: Int
        var packetsSent: Int
        var bytesSent: Int
        /// Seconds since the viewer's media connected.
        var connectedSeconds: Double

        /// What the OpenAPI document shows.
        static let example = WebRTCViewer(node: "n", clientIP: "192.0.2.1", rttMs: 12.5, fractionLost: 0.01, packetsLost: 3,
                                          nacks: 2, keyframeRequests: 1, retransmitted: 3, packetsSent: 1000,
                                          bytesSent: 1_000_000, connectedSeconds: 10)
    }

    /// This node's WHEP viewers by stream (other API nodes' viewers are counted in `viewers`,
    /// listed by those nodes).
    func webRTCViewers() -> [StreamID: [WebRTCViewer]] {
        guard let census else { return [:] }
        return Dictionary(grouping: census.webRTCViewers(), by: \.stream)
            .mapValues { $0.map { WebRTCViewer($0, node: census.node) } }
    }
}

extension StreamsAPI.WebRTCViewer {
    /// The API's view of a viewer's numbers; values that are not finite read as absent or 0.
    init(_ statistics: WebRTCViewerStatistics, node: String) {
        self.node = node
        clientIP = statistics.clientIP
        rttMs = statistics.rttMs.flatMap { $0.isFinite ? $0 : nil }
        fractionLost = statistics.fractionLost.isFinite ? statistics.fractionLost : 0
        packetsLost = statistics.packetsLost
        nacks = statistics.nacksReceived
        keyframeRequests = statistics.plisReceived
        retransmitted = statistics.retransmitted
        packetsSent = statistics.packetsSent
        bytesSent = statistics.bytesSent
        connectedSeconds = statistics.connectedSeconds.isFinite ? statistics.connectedSeconds : 0
    }
}
