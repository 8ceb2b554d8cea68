import Events
import Fanout
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import State
import Testing
@testable import API

/// `health` in the streams API and on live channels of the list, and the events route through
/// `ChannelsAPI`: what session state and the node's timeline hold, as the API shows it.
@Suite struct ChannelHealthAPITests {
    let sessions = InMemorySessionStore()
    let store: SQLiteChannelStore
    let since = Date(timeIntervalSince1970: 1_800_000_000)

    init() throws {
        store = try SQLiteChannelStore(path: nil)
    }

    func json(_ response: APIResponse) -> [String: Any] {
        response.body.flatMap { try? JSONSerialization.jsonObject(with: Data($0.readableBytesView)) as? [String: Any] } ?? [:]
    }

    func get(_ api: ChannelsAPI, _ path: String) async -> APIResponse {
        await api.handle(APIRequest(method: .GET, uri: path, headers: [:], body: nil), scope: .readOnly)
    }

    @Test func liveChannelsAndStreamsShowTheirWarnings() async throws {
        let live = try await store.create(StreamChannel(name: "live"), pushSecret: "a")
        _ = try await store.create(StreamChannel(name: "idle"), pushSecret: "b")
        let stream = try #require(StreamID(live.streamName))
        try await sessions.markLive(StreamSession(streamID: stream, sessionID: 9, node: "n", startedAt: since))
        let warning = HealthWarning(code: .bFrames, severity: .warning, message: "B-frames.", since: since)
        try await sessions.setHealth([warning], of: stream, sessionID: 9)

        let api = ChannelsAPI(store: store, urls: { URLBases(push: "rtmp://h", play: "http://h", rtmpPlay: "rtmp://h") },
                              sessions: sessions)
        let items = json(await get(api, "/api/v1/channels"))["items"] as? [[String: Any]] ?? []
        let shown = Dictionary(uniqueKeysWithValues: items.map { ($0["name"] as? String ?? "", $0["health"]) })
        #expect(((shown["live"] as? [[String: Any]])?.first?["code"] as? String) == "b-frames")
        #expect(shown.keys.contains("idle") && shown["idle"]! == nil, "an offline channel has no health")

        let streams = StreamsAPI(sessions: sessions, hub: FanoutHub(bus: EmbeddedEventBus(), logger: Logger(label: "test"))) { _, _ in }
        let one = json(await streams.answer(.show, of: stream.rawValue))
        #expect(((one["health"] as? [[String: Any]])?.first?["message"] as? String) == "B-frames.")
        let list = json(await streams.list())["items"] as? [[String: Any]] ?? []
        #expect(((list.first?["health"] as? [[String: Any]])?.first?["severity"] as? String) == "warning")
    }

    @Test func theEventsRouteServesTheNodesTimeline() async throws {
        let channel = try await store.create(StreamChannel(name: "events"), pushSecret: "a")
        let bus = EmbeddedEventBus()
        let feed = ChannelTimelineFeed(bus: bus, journal: nil, logger: Logger(label: "test"))
        let stream = try #require(StreamID(channel.streamName))
        for session in UInt64(1)...3 {
            feed.timeline.add(TimelineEvent(id: "l\(session)", at: since.addingTimeInterval(Double(session)), .online(
                StreamOnline(streamID: stream, sessionID: session, node: "n", client: "c", protocolName: "rtmp"))), key: stream.rawValue)
        }
        let api = ChannelsAPI(store: store, urls: { URLBases(push: "rtmp://h", play: "http://h", rtmpPlay: "rtmp://h") }, timeline: feed)
        let page = json(await get(api, "/api/v1/channels/\(channel.streamName)/events?limit=2"))
        #expect((page["events"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["l3", "l2"])
        let next = try #require(page["next"] as? String)
        let rest = json(await get(api, "/api/v1/channels/\(channel.streamName)/events?limit=2&before=\(next)"))
        #expect((rest["events"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["l1"])
        #expect(rest["next"] is NSNull)
        #expect(await get(api, "/api/v1/channels/\(channel.streamName)/events?limit=500").status == .badRequest)
        #expect(await get(api, "/api/v1/channels/\(ChannelID())/events").status == .notFound)
        let without = ChannelsAPI(store: store, urls: { URLBases(push: "rtmp://h", play: "http://h", rtmpPlay: "rtmp://h") })
        #expect(await get(without, "/api/v1/channels/\(channel.streamName)/events").status == .serviceUnavailable)
    }
}
