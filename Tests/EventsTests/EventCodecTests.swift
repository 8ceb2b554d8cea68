import Events
import Foundation
import Testing

@Suite struct EventCodecTests {
    static let id = UUID(uuidString: "6F9619FF-8B86-D011-B42D-00CF4FC964FF")!
    static let time = Date(timeIntervalSince1970: 1_764_000_000)
    static let stream = StreamID("98724e64-bcd1-4887-af4a-60be440709aa")!

    static let events: [(String, LifecycleEvent)] = [
        ("stream.online.v1", .online(StreamOnline(streamID: stream, sessionID: 42, node: "ingest-1",
                                                  client: "10.0.0.7:50123", protocolName: "rtmp"))),
        ("stream.offline.v1", .offline(StreamOffline(streamID: stream, sessionID: 42, reason: .unpublished,
                                                     bytes: 1_048_576, durationSeconds: 12.5))),
        ("publish.rejected.v1", .publishRejected(PublishRejected(streamID: "cam1", code: "NetStream.Publish.Unauthorized",
                                                                 reason: "Sign has expired.", client: "10.0.0.7:50124"))),
        ("relay.started.v1", .relayStarted(RelayEvent(streamID: stream, sessionID: 42,
                                                      destination: "rtmps://live.example:443/app/ab…", reconnects: 0))),
        ("relay.failed.v1", .relayFailed(RelayEvent(streamID: stream, sessionID: 42, destination: "rtmp://127.0.0.1:1935/live/wr…",
                                                    reconnects: 2, error: "NetStream.Publish.BadName: Stream key refused"))),
        ("motion.started.v1", .motionStarted(MotionEvent(streamID: stream, sessionID: 42, changedPercent: 37.5))),
        ("motion.ended.v1", .motionEnded(MotionEvent(streamID: stream, sessionID: 42, changedPercent: 37.5, durationSeconds: 6.5,
                                                     clipAssetID: "0b7e2f4c-54b5-4d1e-9d35-0c5a3e1f9a10",
                                                     snapshotAssetID: "1c9d3e5f-7a2b-4c6d-8e0f-a1b2c3d4e5f6"))),
        ("stream.health.v1", .health(StreamHealthChanged(
            streamID: stream, sessionID: 42,
            warning: HealthWarning(code: .keyframeInterval, severity: .warning, message: "Keyframe interval is 10.0 s.", since: time),
            state: .started,
            warnings: [HealthWarning(code: .keyframeInterval, severity: .warning, message: "Keyframe interval is 10.0 s.", since: time)]))),
    ]

    /// Each event version's JSON is pinned by a golden file: a change to it is a schema change.
    @Test(arguments: events.indices)
    func matchesTheGoldenFile(index: Int) throws {
        let (name, event) = Self.events[index]
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Golden"))
        let golden = try Data(contentsOf: url)
        let encoded = try EventCodec().encode(event, id: Self.id, time: Self.time, source: "ingest-1")
        #expect(String(decoding: encoded, as: UTF8.self)
            == String(decoding: golden, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        let decoded = try EventCodec().decodeLifecycle(golden)
        #expect(decoded.event == event)
        #expect(decoded.envelope.version == 1)
        #expect(decoded.envelope.source == "ingest-1")
    }

    @Test func channelEventsRoundTripWithoutSecrets() throws {
        var channel = StreamChannel(id: ChannelID(Self.id), name: "Lobby", createdAt: Self.time)
        channel.relays = [StreamChannel.Relay(url: "rtmps://live.example/app/key")]
        for event in [ChannelChange.created(channel), .updated(channel),
                      .deleted(ChannelDeleted(id: channel.id, revision: 3))] {
            let json = try EventCodec().encode(event, id: Self.id, time: Self.time, source: "api-1")
            #expect(try EventCodec().decodeChannel(json) == event)
            #expect(!String(decoding: json, as: UTF8.self).lowercased().contains("secret"))
        }
        let url = try #require(Bundle.module.url(forResource: "channel.deleted.v1", withExtension: "json", subdirectory: "Golden"))
        let golden = try Data(contentsOf: url)
        #expect(try EventCodec().decodeChannel(golden) == .deleted(ChannelDeleted(id: channel.id, revision: 3)))
    }

    @Test func assetEventsMatchTheirGoldenFile() throws {
        let event = AssetCreated(assetID: "0b7e2f4c-54b5-4d1e-9d35-0c5a3e1f9a10", kind: "snapshot", channelID: Self.stream.rawValue,
                                 streamID: Self.stream, sessionID: 0x1C52_AC6A_2FBF_51A1, start: Self.time, duration: 0, size: 26307,
                                 location: "\(Self.stream.rawValue)/snapshot/2025/11/24/\(Self.stream.rawValue)-1c52ac6a2fbf51a1-6000.jpg",
                                 contentType: "image/jpeg")
        let url = try #require(Bundle.module.url(forResource: "asset.created.v1", withExtension: "json", subdirectory: "Golden"))
        let golden = try Data(contentsOf: url)
        let encoded = try EventCodec().encode(event, id: Self.id, time: Self.time, source: "worker-1")
        #expect(String(decoding: encoded, as: UTF8.self)
            == String(decoding: golden, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(try EventCodec().decodeAsset(golden) == event)
        #expect(String(decoding: encoded, as: UTF8.self).contains(#""sessionId":"1c52ac6a2fbf51a1""#), "64-bit ids as hex strings")
        #expect(throws: EventBusError.self) { try EventCodec().decodeAsset(Data(#"{"type":"asset.gone","version":1,"id":"x","time":"2025-11-24T16:00:00Z","source":"a","data":{}}"#.utf8)) }
    }

    @Test func webhookDeadLettersMatchTheirGoldenFile() throws {
        let letter = WebhookDeadLetter(url: "https://hooks.example/sluice", eventType: "stream.online",
                                       eventID: "2d7f4c1e-6a0b-5e4f-9c3d-1a2b3c4d5e6f", streamID: Self.stream.rawValue, attempts: 6,
                                       lastError: "HTTP 503", body: #"{"type":"stream.online"}"#)
        let url = try #require(Bundle.module.url(forResource: "webhook.deadletter.v1", withExtension: "json", subdirectory: "Golden"))
        let golden = try Data(contentsOf: url)
        let encoded = try EventCodec().encode(letter, id: Self.id, time: Self.time, source: "worker-1")
        #expect(String(decoding: encoded, as: UTF8.self)
            == String(decoding: golden, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(try EventCodec().decodeWebhookDeadLetter(golden) == letter)
    }

    @Test func unknownTypesAndVersionsAreErrors() {
        let unknown = Data(#"{"type":"stream.exploded","version":1,"id":"x","time":"2025-11-24T16:00:00Z","source":"a","data":{}}"#.utf8)
        #expect(throws: EventBusError.self) { try EventCodec().decodeLifecycle(unknown) }
        let future = Data(#"{"type":"stream.online","version":9,"id":"x","time":"2025-11-24T16:00:00Z","source":"a","data":{}}"#.utf8)
        #expect(throws: EventBusError.self) { try EventCodec().decodeLifecycle(future) }
        #expect(throws: (any Error).self) { try EventCodec().decodeLifecycle(Data("{".utf8)) }
    }
}
