import Events
import Fanout
import Foundation
import Logging
import NIOConcurrencyHelpers
import SDP
import State
import Testing
import WebRTC
import WebRTCMedia
@testable import API

/// WHEP viewers in `/metrics` and the viewer census: counts per stream and protocol, the mean
/// round trip, and counters that never go back when viewers leave.
@Suite struct WebRTCMetricsTests {
    static let cam = StreamID("cam1")!

    static func viewer(_ session: String, stream: StreamID = cam, rttMs: Double? = 20, lost: Int = 0, nacks: Int = 0,
                       retransmitted: Int = 0) -> WebRTCViewerStatistics {
        WebRTCViewerStatistics(stream: stream, session: session, role: .whep, clientIP: "192.0.2.1", rttMs: rttMs, fractionLost: 0.5,
                               packetsLost: lost, nacksReceived: nacks, plisReceived: 1, retransmitted: retransmitted,
                               packetsSent: 100, bytesSent: 10_000, connectedSeconds: 3)
    }

    /// WHEP whose viewers a test sets.
    final class Viewers: WHEPPlayback, Sendable {
        let current = NIOLockedValueBox([WebRTCViewerStatistics]())
        func play(stream: StreamID, rendition: String, offer: WebRTCOffer, clientIP: String?) async
            -> Result<WebRTCSessionCreated, WebRTCRefusal> { .failure(WebRTCRefusal(.unavailable, "not here")) }
        func end(stream: StreamID, session: String) async -> Bool { false }
        var viewers: [WebRTCViewerStatistics] { current.withLockedValue { $0 } }
    }

    @Test func totalsOnlyGrowAndStreamsNeitherLiveNorWatchedAreForgotten() {
        var totals = WebRTCMetricTotals()
        let first = totals.update([Self.viewer("a", rttMs: 10, lost: 5, nacks: 2, retransmitted: 2),
                                   Self.viewer("b", rttMs: 30, lost: 1, nacks: 1)], live: [Self.cam])
        #expect(first[Self.cam] == .init(viewers: 2, meanRTTSeconds: 0.02, packetsLost: 6, nacks: 3, retransmitted: 2))
        // "a" leaves, "b" grows, and a report lowers b's loss: nothing goes back.
        let second = totals.update([Self.viewer("b", rttMs: nil, lost: 0, nacks: 4)], live: [Self.cam])
        #expect(second[Self.cam] == .init(viewers: 1, meanRTTSeconds: nil, packetsLost: 6, nacks: 6, retransmitted: 2))
        let other = StreamID("other")!
        let third = totals.update([Self.viewer("c", stream: other, lost: 2)], live: [])
        #expect(third[Self.cam] == nil)
        #expect(third[other]?.packetsLost == 2 && third[other]?.viewers == 1)
        #expect(totals.update([], live: []).isEmpty)
    }

    @Test func theCensusCountsWHEPSessionsAsWebRTCViewers() {
        let whep = Viewers()
        whep.current.withLockedValue { $0 = [Self.viewer("a"), Self.viewer("b"), Self.viewer("c", stream: StreamID("other")!)] }
        let hub = FanoutHub(bus: EmbeddedEventBus(), logger: Logger(label: "test"))
        let census = ViewerCensus(node: "n1", hub: hub, http: HTTPViewerSessions(), sessions: InMemorySessionStore(), webRTC: whep)
        #expect(census.local(Self.cam) == ["webrtc": 2])
        #expect(census.local() == [Self.cam: ["webrtc": 2], StreamID("other")!: ["webrtc": 1]])
        whep.current.withLockedValue { $0 = [] }
        #expect(census.local(Self.cam).isEmpty)
    }

    @Test func metricsShowViewersRoundTripLossAndNACKs() async throws {
        let sessions = InMemorySessionStore()
        try await sessions.markLive(StreamSession(streamID: Self.cam, sessionID: 1, node: "n1", startedAt: Date()))
        let whep = Viewers()
        whep.current.withLockedValue { $0 = [Self.viewer("a", rttMs: 40, lost: 3, nacks: 2, retransmitted: 5)] }
        let hub = FanoutHub(bus: EmbeddedEventBus(), logger: Logger(label: "test"))
        let census = ViewerCensus(node: "n1", hub: hub, http: HTTPViewerSessions(), sessions: sessions, webRTC: whep)
        let metrics = ServerMetrics(hub: hub, sessions: sessions, census: census)
        let value = { (series: String, text: String) in ServerMetricsTests.value(series, in: text) }
        let live = await metrics.render()
        #expect(value(#"sluice_webrtc_viewers{stream="cam1"}"#, live) == 1)
        #expect(value(#"sluice_webrtc_rtt_seconds{stream="cam1"}"#, live) == 0.04)
        #expect(value(#"sluice_webrtc_packets_lost_total{stream="cam1"}"#, live) == 3)
        #expect(value(#"sluice_webrtc_nacks_total{stream="cam1"}"#, live) == 2)
        #expect(value(#"sluice_webrtc_retransmitted_packets_total{stream="cam1"}"#, live) == 5)
        #expect(value(#"sluice_stream_viewers{stream="cam1",protocol="webrtc"}"#, live) == 1)
        whep.current.withLockedValue { $0 = [] }
        let left = await metrics.render()
        #expect(value(#"sluice_webrtc_viewers{stream="cam1"}"#, left) == 0)
        #expect(value(#"sluice_webrtc_nacks_total{stream="cam1"}"#, left) == 2, "a counter went back when its viewer left")
        try await sessions.markOffline(Self.cam, sessionID: 1)
        let ended = await metrics.render()
        #expect(!ended.contains(#"stream="cam1""#), "an ended stream's WebRTC series stayed")
    }
}
