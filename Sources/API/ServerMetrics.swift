import Events
import Fanout
import Foundation
import NIOConcurrencyHelpers
import Prometheus
import State

/// The node's Prometheus metrics (`/metrics`, text exposition 0.0.4): HTTP requests by route,
/// counted as they are answered; per-stream ingest, viewer and relay values, the event bus's
/// traffic, latency and consumer lag, and the process's CPU and memory, read when scraped. Series of streams that ended are dropped at the next scrape.
public final class ServerMetrics: Sendable {
    /// Seconds: from 1 ms to 10 s, as playlist blocking and API calls spread.
    static let durationBuckets: [Duration] = [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                                              .milliseconds(50), .milliseconds(100), .milliseconds(250),
                                              .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10)]

    private struct Scraped {
        /// Per-stream series registered at the last scrape, by stream.
        var gauges: [String: [Gauge]] = [:]
        /// Counter values already exported, for counters fed from running totals.
        var exported: [String: Double] = [:]
        /// Per-stream counters (WHEP's), dropped with the stream's gauges.
        var counters: [String: [Counter]] = [:]
        var webRTC = WebRTCMetricTotals()
    }

    private let registry = PrometheusCollectorRegistry()
    private let hub: FanoutHub
    private let sessions: (any SessionStore)?
    private let bus: (any EventBus)?
    // A lock: scrapes may overlap (two Prometheus servers); each updates the series list whole.
    private let scraped = NIOLockedValueBox(Scraped())
    private let workers: @Sendable () -> [WorkerMetric]
    /// This node's viewers of every protocol; nil: the fan-out's (HTTP-FLV and RTMP) alone.
    private let census: ViewerCensus?

    /// - Parameters:
    ///   - census: this node's viewers of every protocol (HLS, LL-HLS and DASH sessions too).
    ///   - workers: what the node's workers report at each scrape (the transcoder's streams
    ///     and latency, …).
    public init(hub: FanoutHub, sessions: (any SessionStore)?, bus: (any EventBus)? = nil, census: ViewerCensus? = nil,
                workers: @escaping @Sendable () -> [WorkerMetric] = { [] }) {
        self.hub = hub
        self.sessions = sessions
        self.bus = bus
        self.census = census
        self.workers = workers
    }

    /// Protocols every live stream has a viewer series for, even at zero.
    static let viewerProtocols = ["flv", "rtmp", "hls", "llhls", "dash", "srt", ViewerCensus.webRTCProtocol]

    /// This node's viewers of every stream with any, by protocol.
    private func localViewers() -> [StreamID: [String: Int]] {
        if let census { return census.local() }
        return Dictionary(uniqueKeysWithValues: hub.liveStreams.map { ($0, hub.fanout(for: $0)?.viewersByProtocol ?? [:]) })
    }

    /// Counts one answered HTTP request.
    func recordRequest(route: String, status: UInt, duration: Duration) {
        registry.makeCounter(descriptor: Self.named("sluice_http_requests_total", "HTTP requests answered."),
                             labels: [("route", route), ("status", "\(status)")]).increment()
        registry.makeDurationHistogram(descriptor: Self.named("sluice_http_request_duration_seconds",
                                                              "Time from a request's head to its answer."),
                                       labels: [("route", route)], buckets: Self.durationBuckets).record(duration)
    }

    /// The exposition, after reading what is scraped rather than counted.
    func render() async -> String {
        let live = (try? await sessions?.liveSessions()) ?? []
        var relays: [String: [RelayStatus]] = [:]
        for session in live {
            relays[session.streamID.rawValue] = (try? await sessions?.relayStatuses(of: session.streamID)) ?? []
        }
        let viewers = localViewers()
        let webRTCViewers = census?.webRTCViewers() ?? []
        scraped.withLockedValue { scraped in
            let webRTC = scraped.webRTC.update(webRTCViewers, live: Set(live.map(\.streamID)))
            var current: [String: [Gauge]] = [:]
            var counters: [String: [Counter]] = [:]
            for session in live {
                let id = session.streamID.rawValue
                let series = webRTCSeries(id, webRTC[session.streamID] ?? .init(), exported: &scraped.exported)
                current[id] = streamGauges(session, relays: relays[id] ?? [], viewers: viewers[session.streamID] ?? [:],
                                           exported: &scraped.exported) + series.gauges
                counters[id] = series.counters
            }
            for (id, gauges) in scraped.gauges where current[id] == nil {
                gauges.forEach(registry.unregisterGauge)
                scraped.counters[id]?.forEach(registry.unregisterCounter)
                scraped.exported = scraped.exported.filter { !($0.key.hasPrefix("sluice_webrtc_") && $0.key.hasSuffix("|stream=\(id)")) }
            }
            scraped.gauges = current
            scraped.counters = counters
            nodeValues(liveCount: live.count, viewers: viewers, exported: &scraped.exported)
            busValues(exported: &scraped.exported)
        }
        return registry.emitToString()
    }

    /// A full metric name (units included) and its help line.
    private static func named(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    private func gauge(_ name: String, _ help: String, _ labels: [(String, String)] = []) -> Gauge {
        registry.makeGauge(descriptor: Self.named(name, help), labels: labels)
    }

    /// Exports a running total as a counter: adds what it grew since the last scrape.
    private func advance(_ name: String, _ help: String, to total: Double, labels: [(String, String)] = [],
                         exported: inout [String: Double]) {
        let key = name + labels.map { "|\($0.0)=\($0.1)" }.joined()
        let counter = registry.makeCounter(descriptor: Self.named(name, help), labels: labels)
        let delta = total - (exported[key] ?? 0)
        if delta > 0 { counter.increment(by: delta) }
        exported[key] = max(total, exported[key] ?? 0)
    }

    private func streamGauges(_ session: StreamSession, relays: [RelayStatus], viewers: [String: Int],
                              exported: inout [String: Double]) -> [Gauge] {
        let id = session.streamID.rawValue
        let stream = [("stream", id)]
        var gauges: [Gauge] = []
        func set(_ name: String, _ help: String, _ value: Double, _ labels: [(String, String)] = stream) {
            let made = gauge(name, help, labels)
            made.set(value)
            gauges.append(made)
        }
        set("sluice_stream_ingest_bitrate_bits_per_second", "Ingest bitrate over the session so far.", Double(session.bitrate ?? 0))
        set("sluice_stream_frame_rate", "Video frames per second the publisher declared.", session.frameRate ?? 0)
        let fanout = hub.fanout(for: session.streamID)
        set("sluice_stream_keyframe_interval_seconds", "Time between the last two video keyframes.",
            fanout?.keyframeIntervalSeconds ?? 0)
        for name in Set(Self.viewerProtocols).union(viewers.keys).sorted() {
            set("sluice_stream_viewers", "Viewers of the stream on this node, by protocol (renditions under theirs).",
                Double(viewers[name] ?? 0), stream + [("protocol", name)])
        }
        set("sluice_stream_viewer_bytes", "FLV bytes queued for the stream's viewers this session.",
            Double(fanout?.bytesQueued ?? 0))
        set("sluice_stream_renditions", "Transcoded renditions of the stream live on this node.",
            Double(hub.renditions(of: session.streamID).count))
        if let link = session.srt {
            // An SRT publisher's link, as its ingest node last wrote it to session state.
            set("sluice_stream_srt_rtt_milliseconds", "Round-trip time of the stream's SRT publisher.", link.rttMs)
            set("sluice_stream_srt_packets_received", "Packets received from the SRT publisher this session.",
                Double(link.packetsReceived))
            set("sluice_stream_srt_packets_lost", "Packets of the SRT publisher found missing (asked for again) this session.",
                Double(link.packetsLost))
            set("sluice_stream_srt_packets_retransmitted", "Retransmitted packets received from the SRT publisher this session.",
                Double(link.packetsReceivedRetransmitted))
            set("sluice_stream_srt_packets_dropped", "Packets of the SRT publisher dropped as too late this session.",
                Double(link.packetsDropped))
            set("sluice_stream_srt_receive_buffer_milliseconds", "Media held in the SRT publisher's receive buffer.",
                Double(link.receiveBufferMs))
        }
        for relay in relays {
            let labels = stream + [("destination", relay.destination)]
            set("sluice_relay_up", "1 while a relay publishes to its destination.", relay.state == .live ? 1 : 0, labels)
            set("sluice_relay_bytes_sent", "Media bytes a relay sent this session.", Double(relay.bytesSent), labels)
            set("sluice_relay_reconnects", "Reconnects of a relay this session.", Double(relay.reconnects), labels)
            set("sluice_relay_failed", "1 when the destination refused the relay.", relay.state == .failed ? 1 : 0, labels)
        }
        return gauges
    }

    /// WHEP's series of one stream: its viewers and their mean round trip (gauges), and what
    /// they reported lost, NACKed and were sent again (counters).
    private func webRTCSeries(_ id: String, _ totals: WebRTCMetricTotals.Stream,
                              exported: inout [String: Double]) -> (gauges: [Gauge], counters: [Counter]) {
        let stream = [("stream", id)]
        let viewers = gauge("sluice_webrtc_viewers", "WHEP viewers of the stream on this node.", stream)
        viewers.set(Double(totals.viewers))
        let rtt = gauge("sluice_webrtc_rtt_seconds", "Mean round-trip time of the stream's WHEP viewers (from their receiver reports).",
                        stream)
        rtt.set(totals.meanRTTSeconds ?? 0)
        let counted: [(String, String, Double)] = [
            ("sluice_webrtc_packets_lost_total", "Packets the stream's WHEP viewers reported lost.", totals.packetsLost),
            ("sluice_webrtc_nacks_total", "NACKs the stream's WHEP viewers sent.", totals.nacks),
            ("sluice_webrtc_retransmitted_packets_total", "Packets sent again to the stream's WHEP viewers in answer to NACKs.",
             totals.retransmitted),
        ]
        var counters: [Counter] = []
        for (name, help, total) in counted {
            advance(name, help, to: total, labels: stream, exported: &exported)
            counters.append(registry.makeCounter(descriptor: Self.named(name, help), labels: stream))
        }
        return ([viewers, rtt], counters)
    }

    private func busValues(exported: inout [String: Double]) {
        for (topic, statistics) in bus?.statistics() ?? [:] {
            let labels = [("topic", topic.name)]
            advance("sluice_bus_published_total", "Records published to the event bus.", to: Double(statistics.published),
                    labels: labels, exported: &exported)
            advance("sluice_bus_publish_seconds_total", "Time spent publishing (divide by published for the latency).",
                    to: Double(statistics.publishNanoseconds) / 1e9, labels: labels, exported: &exported)
            advance("sluice_bus_consumed_total", "Records delivered to consumers (each consumer counts).",
                    to: Double(statistics.consumed), labels: labels, exported: &exported)
            advance("sluice_bus_consume_delay_seconds_total",
                    "Time from publish to delivery, summed (divide by consumed for the latency).",
                    to: Double(statistics.consumeDelayNanoseconds) / 1e9, labels: labels, exported: &exported)
            gauge("sluice_bus_consumer_lag_records", "Records the furthest-behind consumer has yet to read.", labels)
                .set(Double(statistics.consumerLag))
        }
    }

    private func nodeValues(liveCount: Int, viewers: [StreamID: [String: Int]], exported: inout [String: Double]) {
        gauge("sluice_live_streams", "Streams live in session state.").set(Double(liveCount))
        var byProtocol = Dictionary(uniqueKeysWithValues: Self.viewerProtocols.map { ($0, 0) })
        for counts in viewers.values {
            for (name, count) in counts { byProtocol[name, default: 0] += count }
        }
        gauge("sluice_viewers", "Viewers on this node, every protocol.").set(Double(byProtocol.values.reduce(0, +)))
        for (name, count) in byProtocol {
            gauge("sluice_viewers_by_protocol", "Viewers on this node, by protocol.", [("protocol", name)]).set(Double(count))
        }
        advance("sluice_viewer_dropped_gops_total", "Times a slow viewer's backlog was cut back to a keyframe.",
                to: Double(hub.droppedGOPs), exported: &exported)
        advance("sluice_viewer_dropped_frames_total", "Frames not sent to slow viewers.",
                to: Double(hub.droppedFrames), exported: &exported)
        let process = ProcessSample.current()
        advance("process_cpu_seconds_total", "User and system CPU time of the process.", to: process.cpuSeconds,
                exported: &exported)
        gauge("process_resident_memory_bytes", "Resident memory of the process.").set(Double(process.residentBytes))
        gauge("process_open_fds", "Open file descriptors.").set(Double(process.openFiles))
        for metric in workers() {
            switch metric.kind {
            case .gauge: gauge(metric.name, metric.help, metric.labels).set(metric.value)
            case .counter: advance(metric.name, metric.help, to: metric.value, labels: metric.labels, exported: &exported)
            }
        }
    }
}

/// CPU, memory and descriptors of this process, from `/proc` (zeros where it is missing).
struct ProcessSample {
    var cpuSeconds: Double
    var residentBytes: Int
    var openFiles: Int

    static func current() -> ProcessSample {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var cpu = 0.0
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")") {
            // Fields after the command name: state is field 3, utime 14, stime 15.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]), ticks > 0 {
                cpu = (user + system) / ticks
            }
        }
        var resident = 0
        if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
            let fields = statm.split(separator: " ")
            if fields.count > 1, let pages = Int(fields[1]) { resident = pages * Int(sysconf(Int32(_SC_PAGESIZE))) }
        }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        return ProcessSample(cpuSeconds: cpu, residentBytes: resident, openFiles: files)
    }
}

/// One value a worker reports to `/metrics`: a gauge, or a running total exported as a counter.
public struct WorkerMetric: Sendable {
    public enum Kind: Sendable {
        case gauge, counter
    }

    public var name: String
    public var help: String
    public var kind: Kind
    public var labels: [(String, String)]
    public var value: Double

    public init(_ name: String, _ help: String, _ kind: Kind = .gauge, labels: [(String, String)] = [], value: Double) {
        self.name = name
        self.help = help
        self.kind = kind
        self.labels = labels
        self.value = value
    }
}
