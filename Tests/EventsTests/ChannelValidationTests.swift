import Events
import Foundation

import Testing

@Suite struct ChannelValidationTests {
    @Test func defaultsAreValid() {
        #expect(StreamChannel(name: "Lobby camera").validationErrors().isEmpty)
    }

    /// Each broken field is reported by its JSON path.
    static let broken: [(String, @Sendable (inout StreamChannel) -> Void)] = [
        ("name", { $0.name = "   " }),
        ("name", { $0.name = String(repeating: "x", count: 201) }),
        ("hls.segmentSeconds", { $0.hls.segmentSeconds = 0.5 }),
        ("hls.listSize", { $0.hls.listSize = 1 }),
        ("hls.partSeconds", { $0.hls.partSeconds = 5 }),
        ("record.mp4.segmentSeconds", { $0.record.mp4.segmentSeconds = 5 }),
        ("record.snapshots.intervalSeconds", { $0.record.snapshots.intervalSeconds = 0 }),
        ("motion.pixelPercent", { $0.motion.pixelPercent = 101 }),
        ("motion.maxSeconds", { $0.motion.maxSeconds = 2 }),
        ("watermark.text.text", { $0.watermark.text.enabled = true }),
        ("watermark.text.color", { $0.watermark.text.color = "red" }),
        ("watermark.image.width", { $0.watermark.image.width = 0 }),
        ("transcode.renditions", { $0.transcode.enabled = true; $0.transcode.renditions = [] }),
        ("transcode.renditions", { $0.transcode.renditions = [.p720, .p720] }),
        ("relays[0].url", { $0.relays = [StreamChannel.Relay(url: "http://example.com/live")] }),
        ("relays", { $0.relays = Array(repeating: StreamChannel.Relay(url: "rtmp://a/b"), count: 11) }),
        ("webhooks[0].url", { $0.webhooks = [Webhook(url: "ftp://hooks.example/")] }),
        ("webhooks[0].events", { $0.webhooks = [Webhook(url: "https://hooks.example/", events: ["stream.exploded"])] }),
        ("webhooks[0].events", { $0.webhooks = [Webhook(url: "https://hooks.example/", events: [])] }),
        ("webhooks", { $0.webhooks = Array(repeating: Webhook(url: "https://hooks.example/"), count: 11) }),
    ]

    /// Channels stored before `webhooks` existed read with none.
    @Test func channelsStoredBeforeWebhooksReadWithNone() throws {
        var channel = StreamChannel(name: "old", createdAt: Date(timeIntervalSince1970: 1_764_000_000))
        channel.webhooks = [Webhook(url: "https://hooks.example/", events: ["stream.online"])]
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        var document = try #require(try JSONSerialization.jsonObject(with: encoder.encode(channel)) as? [String: Any])
        #expect(try decoder.decode(StreamChannel.self, from: encoder.encode(channel)) == channel)
        document["webhooks"] = nil
        let old = try decoder.decode(StreamChannel.self, from: JSONSerialization.data(withJSONObject: document))
        #expect(old.webhooks.isEmpty && old.name == "old")
    }

    @Test func webhookFiltersNameEventTypes() {
        #expect(Webhook(url: "https://h/").wants("recording.ready"))
        #expect(Webhook(url: "https://h/", events: ["stream.online"]).wants("stream.online"))
        #expect(!Webhook(url: "https://h/", events: ["stream.online"]).wants("stream.offline"))
    }

    @Test(arguments: broken.indices)
    func brokenFieldsAreNamed(index: Int) {
        var channel = StreamChannel(name: "ok")
        Self.broken[index].1(&channel)
        #expect(channel.validationErrors().map(\.field).contains(Self.broken[index].0))
    }
}
