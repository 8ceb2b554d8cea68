import Events
import Fanout
import State

/// Who watches what: this node's viewers, live (the fan-out's HTTP-FLV and RTMP viewers, of the
/// stream and its renditions, and `HTTPViewerSessions`' HLS, LL-HLS and DASH sessions), and
/// the cluster's, summed from the reports every node writes to session state (`StreamSampler`
/// writes this node's every two seconds; this node's own part is always counted live).
public struct ViewerCensus: Sendable {
    /// The name this node reports under (its node id).
    public let node: String
    let hub: FanoutHub
    public let http: HTTPViewerSessions
    let sessions: any SessionStore

    public init(node: String, hub: FanoutHub, http: HTTPViewerSessions, sessions: any SessionStore) {
        self.node = node
        self.hub = hub
        self.http = http
        self.sessions = sessions
    }

    /// This node's viewers of `stream` by protocol (renditions under their protocol), now.
    public func local(_ stream: StreamID) -> [String: Int] {
        var counts = http.counts(of: stream)
        for rendition in [""] + hub.renditions(of: stream) {
            for (name, count) in hub.fanout(for: stream, rendition: rendition)?.viewersByProtocol ?? [:] {
                counts[name, default: 0] += count
            }
        }
        return counts.filter { $0.value > 0 }
    }

    /// Frames dropped so far for this node's HTTP-FLV and RTMP viewers of `stream` and its
    /// renditions (a viewer that fell behind loses whole GOPs); counts start again with a new
    /// session's fan-outs.
    public func droppedFrames(of stream: StreamID) -> Int {
        ([""] + hub.renditions(of: stream)).reduce(0) { $0 + (hub.fanout(for: stream, rendition: $1)?.droppedFrames ?? 0) }
    }

    /// This node's viewers of every stream that has any, now.
    public func local() -> [StreamID: [String: Int]] {
        let streams = Set(hub.liveStreams).union(http.counts().keys)
        var counts: [StreamID: [String: Int]] = [:]
        for stream in streams {
            let here = local(stream)
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
