import Events
import WebRTCMedia

/// WHEP's numbers per stream for `/metrics`: viewers and their mean round trip now, and running
/// totals of the packets they reported lost, the NACKs they sent and the packets sent again.
/// A counter must never shrink when a viewer leaves, so each scrape adds what every viewer
/// added since the last one (a viewer's growth between its last scrape and its end is not seen).
/// A stream that is neither live nor watched is forgotten, so the totals stay bounded.
struct WebRTCMetricTotals: Sendable {
    struct Stream: Sendable, Equatable {
        var viewers = 0
        /// Mean round trip of the viewers that have one, seconds; nil when none has.
        var meanRTTSeconds: Double?
        var packetsLost: Double = 0
        var nacks: Double = 0
        var retransmitted: Double = 0
    }

    /// A viewer's own totals at the last scrape, by session.
    private struct Seen: Sendable {
        var packetsLost: Int
        var nacks: Int
        var retransmitted: Int
    }

    private var seen: [String: Seen] = [:]
    private var streams: [StreamID: Stream] = [:]

    /// Takes a scrape's `viewers`; answers every stream's numbers, `live` streams all included.
    mutating func update(_ viewers: [WebRTCViewerStatistics], live: Set<StreamID>) -> [StreamID: Stream] {
        var next: [String: Seen] = [:]
        var rtts: [StreamID: [Double]] = [:]
        for key in streams.keys { streams[key]?.viewers = 0 }
        for viewer in viewers {
            let now = Seen(packetsLost: max(0, viewer.packetsLost), nacks: max(0, viewer.nacksReceived),
                           retransmitted: max(0, viewer.retransmitted))
            let before = seen[viewer.session] ?? Seen(packetsLost: 0, nacks: 0, retransmitted: 0)
            var stream = streams[viewer.stream] ?? Stream()
            stream.viewers += 1
            // Reports may lower a cumulative loss (duplicates count against it): only growth counts.
            stream.packetsLost += Double(max(0, now.packetsLost - before.packetsLost))
            stream.nacks += Double(max(0, now.nacks - before.nacks))
            stream.retransmitted += Double(max(0, now.retransmitted - before.retransmitted))
            streams[viewer.stream] = stream
            next[viewer.session] = now
            if let rtt = viewer.rttMs, rtt.isFinite, rtt >= 0 { rtts[viewer.stream, default: []].append(rtt / 1000) }
        }
        seen = next
        for id in live where streams[id] == nil { streams[id] = Stream() }
        streams = streams.filter { live.contains($0.key) || $0.value.viewers > 0 }
        for (id, values) in rtts where !values.isEmpty {
            streams[id]?.meanRTTSeconds = values.reduce(0, +) / Double(values.count)
        }
        for id in streams.keys where rtts[id] == nil { streams[id]?.meanRTTSeconds = nil }
        return streams
    }
}
