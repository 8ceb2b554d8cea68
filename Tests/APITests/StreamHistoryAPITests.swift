import Events
import Fanout
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import State
import Testing
@testable import API

/// `GET /api/v1/streams/{id}/history` through the real router, the cluster's viewer sums in
/// the streams API and `/metrics`, and the sampler's history of a stream published here.
@Suite struct StreamHistoryAPITests {
    let stream = StreamID("cam1")!

    struct Fixture {
        let router: APIRouter
        let streams: StreamsAPI
        let sessions: InMemorySessionStore
        let census: ViewerCensus
        let bus: EmbeddedEventBus
    }

    func fixture(node: String = "n1") async throws -> Fixture {
        let database = try SQLiteDatabase(path: nil)
        let keys = SQLiteAPIKeyStore(database: database)
        _ = try await keys.ensureAdminKey(preset: "admin-key")
        let bus = EmbeddedEventBus()
        let hub = FanoutHub(bus: bus, logger: Logger(label: "test"))
        let sessions = InMemorySessionStore()
        let census = ViewerCensus(node: node, hub: hub, http: HTTPViewerSessions(), sessions: sessions)
        let bases = URLBases(push: "rtmp://h:1935", play: "http://h:8080", rtmpPlay: "rtmp://h:1935")
        let streams = StreamsAPI(sessions: sessions, hub: hub, census: census) { _, _ in }
        let router = APIRouter(keys: keys, channels: ChannelsAPI(store: SQLiteChannelStore(database: database), urls: { bases }),
                               streams: streams, settings: try await SQLiteSettingsStore(database: database))
        return Fixture(router: router, streams: streams, sessions: sessions, census: census, bus: bus)
    }

    func get(_ uri: String, _ router: APIRouter) async -> APIResponse {
        await router.handle(APIRequest(method: .GET, uri: uri, headers: ["Authorization": "Bearer admin-key"]))
    }

    func json(_ response: APIResponse) throws -> [String: Any] {
        let body = try #require(response.body)
        return try #require(JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any])
    }

    @Test(arguments: ["0", "3601", "-1", "99999999999999999999", "", "1.5", "+5", "abc", "0300x"])
    func secondsOutsideOneToAnHourAreABadRequest(_ seconds: String) async throws {
        let fixture = try await fixture()
        try await fixture.sessions.markLive(StreamSession(streamID: stream, sessionID: 1, node: "n1", startedAt: Date()))
        let response = await get("/api/v1/streams/cam1/history?seconds=\(seconds)", fixture.router)
        #expect(response.status == .badRequest)
    }

    @Test func historyIsTheLastSecondsOldestFirst() async throws {
        let fixture = try await fixture()
        // One sample a second, but none 2 s back (the sampler missed one): the newest three by
        // count include the one 3 s back, which the window then leaves out. Asked at `now` (a
        // loaded machine reaches the router seconds after making the samples).
        let now = Date()
        for back in [9, 8, 7, 6, 5, 4, 3, 1, 0] {
            try await fixture.sessions.appendSample(StreamSample(at: now.addingTimeInterval(-Double(back)), ingestKbps: Double(back),
                                                                 viewers: ["hls": back]), of: stream, ttl: .seconds(60))
        }
        let response = await fixture.streams.history(of: "cam1", query: ["seconds": "3"], now: now)
        #expect(response.status == .ok)
        let body = try json(response)
        #expect(body["streamID"] as? String == "cam1")
        #expect(body["intervalSeconds"] as? Int == 1)
        let samples = try #require(body["samples"] as? [[String: Any]])
        #expect(samples.compactMap { $0["ingestKbps"] as? Double } == [1, 0])
        #expect((samples.first?["viewers"] as? [String: Int]) == ["hls": 1])
        #expect(samples.first?["at"] is String, "dates as ISO 8601")
        let defaulted = try json(await get("/api/v1/streams/cam1/history", fixture.router))
        #expect((defaulted["samples"] as? [Any])?.count == 9, "300 s by default, through the router: all nine")
        #expect(await get("/api/v1/streams/cam1/history?seconds=3600", fixture.router).status == .ok)
    }

    @Test func aStreamNeitherLiveNorSampledIsNotFound() async throws {
        let fixture = try await fixture()
        #expect(await get("/api/v1/streams/nobody/history", fixture.router).status == .notFound)
        try await fixture.sessions.markLive(StreamSession(streamID: stream, sessionID: 1, node: "n1", startedAt: Date()))
        let live = await get("/api/v1/streams/cam1/history", fixture.router)
        #expect(live.status == .ok, "live, nothing sampled yet: an empty history")
        #expect((try json(live)["samples"] as? [Any])?.isEmpty == true)
    }

    @Test func theStreamsAPISumsEveryNodesViewersWithItsOwnLive() async throws {
        let fixture = try await fixture(node: "n1")
        try await fixture.sessions.markLive(StreamSession(streamID: stream, sessionID: 1, node: "n2", startedAt: Date()))
        // n1's stale report is ignored: its own sessions are counted live.
        try await fixture.sessions.setViewerCounts([stream: ["hls": 50]], node: "n1", ttl: .seconds(30))
        try await fixture.sessions.setViewerCounts([stream: ["hls": 2, "flv": 1]], node: "n2", ttl: .seconds(30))
        try await fixture.sessions.setViewerCounts([stream: ["dash": 1]], node: "n3", ttl: .seconds(30))
        fixture.census.http.record(.playlist("llhls"), of: stream, identity: "s:a")
        fixture.census.http.record(.playlist("hls"), of: stream, identity: "s:b")
        let body = try json(await get("/api/v1/streams/cam1", fixture.router))
        #expect((body["viewers"] as? [String: Int]) == ["hls": 3, "flv": 1, "dash": 1, "llhls": 1])
        #expect(body["viewerCount"] as? Int == 6)
        let list = try json(await get("/api/v1/streams", fixture.router))
        #expect(((list["items"] as? [[String: Any]])?.first?["viewerCount"] as? Int) == 6)
    }

    @Test func metricsCountThisNodesHTTPViewersByProtocol() async throws {
        let fixture = try await fixture()
        try await fixture.sessions.markLive(StreamSession(streamID: stream, sessionID: 1, node: "n1", startedAt: Date()))
        fixture.census.http.record(.playlist("llhls"), of: stream, identity: "s:a")
        fixture.census.http.record(.playlist("llhls"), of: stream, identity: "s:b")
        fixture.census.http.record(.playlist("dash"), of: stream, identity: "s:c")
        let metrics = ServerMetrics(hub: fixture.census.hub, sessions: fixture.sessions, census: fixture.census)
        let text = await metrics.render()
        #expect(ServerMetricsTests.value(#"sluice_stream_viewers{stream="cam1",protocol="llhls"}"#, in: text) == 2)
        #expect(ServerMetricsTests.value(#"sluice_stream_viewers{stream="cam1",protocol="flv"}"#, in: text) == 0)
        #expect(ServerMetricsTests.value(#"sluice_viewers_by_protocol{protocol="dash"}"#, in: text) == 1)
        #expect(ServerMetricsTests.value("sluice_viewers", in: text) == 3)
    }

    @Test func theSamplerReportsViewersAndSamplesStreamsPublishedHere() async throws {
        let fixture = try await fixture(node: "n1")
        try await fixture.sessions.markLive(StreamSession(streamID: stream, sessionID: 7, node: "n1", startedAt: Date()))
        try await fixture.sessions.markLive(StreamSession(streamID: StreamID("elsewhere")!, sessionID: 1, node: "n2", startedAt: Date()))
        fixture.census.http.record(.playlist("hls"), of: stream, identity: "s:a")
        let sampler = StreamSampler(census: fixture.census, bus: fixture.bus, logger: Logger(label: "test"))
        var sampled: [StreamID: StreamSampler.Sampled] = [:]
        await sampler.step(tick: 1, sampled: &sampled)
        #expect(Set(sampled.keys) == [stream], "only streams published on this node")
        // A second of media: 25 video frames of 1000 bytes, 10 audio frames of 200, keyframes 2 s apart.
        for frame in 0..<25 {
            let video = MediaFrame(kind: .video, flags: frame % 25 == 0 ? [.keyframe] : [], codec: "avc1", dts: Int64(frame * 40),
                                   sessionID: 7, sequence: UInt64(frame), payload: ByteBuffer(repeating: 0, count: 1000))
            try fixture.bus.publish(BusRecord(key: stream.rawValue, value: .frame(video)), to: .mediaSource)
        }
        let keyframe = MediaFrame(kind: .video, flags: [.keyframe], codec: "avc1", dts: 2000, sessionID: 7, sequence: 30,
                                  payload: ByteBuffer(repeating: 0, count: 1000))
        try fixture.bus.publish(BusRecord(key: stream.rawValue, value: .frame(keyframe)), to: .mediaSource)
        for frame in 0..<10 {
            let audio = MediaFrame(kind: .audio, codec: "mp4a", dts: Int64(frame * 100), sessionID: 7, sequence: UInt64(40 + frame),
                                   payload: ByteBuffer(repeating: 0, count: 200))
            try fixture.bus.publish(BusRecord(key: stream.rawValue, value: .frame(audio)), to: .mediaSource)
        }
        let meter = try #require(sampled[stream]?.meter)
        for _ in 0..<200 where meter.reading.bytes < 28_000 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(meter.reading.videoFrames == 26)
        await sampler.step(tick: 2, sampled: &sampled)
        let samples = try await fixture.sessions.samples(of: stream, last: 10)
        let last = try #require(samples.last)
        #expect(samples.count == 2)
        #expect((last.ingestKbps ?? 0) > 0)
        #expect((last.audioKbps ?? 0) > 0)
        #expect((last.audioKbps ?? 0) < (last.ingestKbps ?? 0))
        #expect(last.keyframeIntervalSeconds == 2)
        #expect(last.viewers == ["hls": 1])
        #expect(try await fixture.sessions.viewerCounts()["n1"] == [stream: ["hls": 1]], "reported on the second tick")
        for stream in sampled.values { stream.reader.cancel() }
    }
}
