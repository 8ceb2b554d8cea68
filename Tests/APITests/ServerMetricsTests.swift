import Events
import Fanout
import Foundation
import Logging
import NIOConcurrencyHelpers
import State
import Testing
@testable import API

/// `ServerMetrics` without a server: what `/metrics` exposes after requests are counted and
/// streams come and go, read from its text exposition.
@Suite struct ServerMetricsTests {
    static func metrics(sessions: (any SessionStore)? = nil,
                        workers: @escaping @Sendable () -> [WorkerMetric] = { [] }) -> ServerMetrics {
        ServerMetrics(hub: FanoutHub(bus: EmbeddedEventBus(), logger: Logger(label: "test")), sessions: sessions, workers: workers)
    }

    /// The value of the sample line that starts with `series` (name and labels), if exposed.
    static func value(_ series: String, in text: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test func answeredRequestsAreCountedByRouteAndStatus() async {
        let metrics = Self.metrics()
        metrics.recordRequest(route: "api", status: 200, duration: .milliseconds(3))
        metrics.recordRequest(route: "api", status: 200, duration: .milliseconds(30))
        metrics.recordRequest(route: "flv", status: 404, duration: .milliseconds(1))
        let text = await metrics.render()
        #expect(Self.value(#"sluice_http_requests_total{route="api",status="200"}"#, in: text) == 2)
        #expect(Self.value(#"sluice_http_requests_total{route="flv",status="404"}"#, in: text) == 1)
        #expect(Self.value(#"sluice_http_request_duration_seconds_count{route="api"}"#, in: text) == 2)
        #expect(Self.value(#"sluice_http_request_duration_seconds_bucket{route="api",le="0.005"}"#, in: text) == 1)
    }

    @Test func streamSeriesLiveAsLongAsTheirStream() async throws {
        let sessions = InMemorySessionStore()
        let cam = StreamID("cam1")!
        var session = StreamSession(streamID: cam, sessionID: 1, node: "n1", startedAt: Date())
        session.bitrate = 2_500_000
        try await sessions.markLive(session)
        let metrics = Self.metrics(sessions: sessions)
        let live = await metrics.render()
        #expect(Self.value(#"sluice_stream_ingest_bitrate_bits_per_second{stream="cam1"}"#, in: live) == 2_500_000)
        #expect(Self.value(#"sluice_stream_viewers{stream="cam1",protocol="flv"}"#, in: live) == 0)
        #expect(Self.value("sluice_live_streams", in: live) == 1)
        try await sessions.markOffline(cam, sessionID: 1)
        let ended = await metrics.render()
        #expect(!ended.contains(#"stream="cam1""#), "an ended stream's series are dropped at the next scrape")
        #expect(Self.value("sluice_live_streams", in: ended) == 0)
    }

    @Test func workerTotalsBecomeCountersThatNeverGoBack() async {
        let total = NIOLockedValueBox(5.0)
        let metrics = Self.metrics {
            [WorkerMetric("sluice_test_frames_total", "Frames.", .counter, value: total.withLockedValue { $0 }),
             WorkerMetric("sluice_test_streams", "Streams.", labels: [("worker", "w1")], value: 3)]
        }
        #expect(Self.value("sluice_test_frames_total", in: await metrics.render()) == 5)
        total.withLockedValue { $0 = 8 }
        #expect(Self.value("sluice_test_frames_total", in: await metrics.render()) == 8)
        // A restarted worker's total starts again from zero; the exported counter keeps its value.
        total.withLockedValue { $0 = 2 }
        let text = await metrics.render()
        #expect(Self.value("sluice_test_frames_total", in: text) == 8)
        #expect(Self.value(#"sluice_test_streams{worker="w1"}"#, in: text) == 3)
    }

    @Test func theProcessIsDescribedFromProc() async {
        let text = await Self.metrics().render()
        #expect((Self.value("process_resident_memory_bytes", in: text) ?? 0) > 0)
        #expect((Self.value("process_open_fds", in: text) ?? 0) > 0)
        #expect(Self.value("process_cpu_seconds_total", in: text) != nil)
    }
}
