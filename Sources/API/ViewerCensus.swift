import Events
import Fanout
import State
import WebRTCMedia

/// Who watches what: this node's viewers, live (the fan-out's HTTP-FLV and RTMP viewers, of the
/// stream and its renditions, `HTTPViewerSessions`' HLS, LL-HLS and DASH sessions and WHEP's
/// WebRTC viewers), and
/// the cluster's, summed from the reports every node writes to session state (`StreamSampler`
/// writes this node's every two seconds; this node's own part is always counted live).
public struct ViewerCensus: Sendable {
    /// The name this node reports under (its node id).
    public let node: String
    let hub: FanoutHub
    public let http: HTTPViewerSessions
    let sessions: any SessionStore
    /// WHEP playback's viewers; nil: WebRTC is off.
    let webRTC: (any WHEPPlayback)?

    public init(node: String, hub: FanoutHub, http: HTTPViewerSessions, sessions: any SessionStore,
                webRTC: (any WHEPPlayback)? = nil) {
        self.node = node
        self.hub = hub
        self.http = http
        self.sessions = sessions
        self.webRTC = webRTC
    }

    /// The protocol WHEP viewers are counted under.
    public static let webRTCProtocol = "webrtc"

    /// This node's viewers of `stream` by protocol (renditions under their protocol), now.
    public func local(_ stream: StreamID) -> [String: Int] {
        local(stream, webRTCCounts: webRTCCounts())
    }

    /// `local(_:)` with WHEP's viewers already counted by stream: WHEP viewers are its sessions,
    /// not the fan-out's one sink per stream that packetizes for all of them.
    private func local(_ stream: StreamID, webRTCCounts: [StreamID: Int]) -> [String: Int] {
        var counts = http.counts(of: stream)
        for rendition in [""] + hub.renditions(of: stream) {
            for (name, count) in hub.fanout(for: stream, rendition: rendition)?.viewersByProtocol ?? [:]
            where name != Self.webRTCProtocol {
                counts[name, default: 0] += count
            }
        }
        if let webRTC = webRTCCounts[stream] { counts[Self.webRTCProtocol] = webRTC }
        return counts.filter { $0.value > 0 }
    }

    /// This node's WHEP viewers with their link numbers (round trip, loss, NACKs), now.
    public func webRTCViewers() -> [WebRTCViewerStatistics] {
        webRTC?.viewers ?? []
    }

    private func webRTCCounts() -> [StreamID: Int] {
        webRTCViewers().reduce(into: [:]) { $0[$1.stream, default: 0] += 1 }
    }

    /// Frames dropped so far for this node's HTTP-FLV and RTMP viewers of `stream` and its
    /// renditions (a viewer that fell behind loses whole GOPs); counts start again with a new
    /// session's fan-outs.
    public func droppedFrames(of stream: StreamID) -> Int {
        ([""] + hub.renditions(of: stream)).reduce(0) { $0 + (hub.fanout(for: stream, rendition: $1)?.droppedFrames ?? 0) }
    }

    /// This node's viewers of every stream that has any, now.
    public func local() -> [StreamID: [String: Int]] {
        let webRTC = webRTCCounts()
        let streams = Set(hub.liveStreams).union(http.counts().keys).union(webRTC.keys)
        var counts: [StreamID: [String: Int]] = [:]
        for stream in streams {
            let here = local(stream, webRTCCounts: webRTC)
            if !here.isEmpty { counts[stream] = here }
        }
        return counts
    }

    /// Every node's viewers summed, with this node's counted now; when session state does not
    /// answer, this node's alone.
    public func cluster() async -> [StreamID: [String: Int]] {
        var total = local()
        let reports = (try? await sessions.viewerCounts()) ?? [:]
        for (reporter, streams) in reports where reporter != node {
            for (stream, protocols) in streams {
                for (name, count) in protocols where count > 0 {
                    total[stream, default: [:]][name, default: 0] += min(count, Int(Int32.max))
                }
            }
        }
        return total
    }
}
