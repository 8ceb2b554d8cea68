import Events
import Foundation
import Logging
import State
import Testing
@testable import Workers

/// Every delivery record the worker writes, in order (the console's log keeps only the newest per
/// event and receiver).
actor AttemptLog: WebhookDeliveryStore {
    private(set) var all: [WebhookDelivery] = []

    func record(_ delivery: WebhookDelivery) { all.append(delivery) }
    func recent() -> [WebhookDelivery] { all.reversed() }
}

/// A delivery store that is down.
struct BrokenDeliveryStore: WebhookDeliveryStore {
    struct Down: Error {}
    func record(_ delivery: WebhookDelivery) async throws { throw Down() }
    func recent() async throws -> [WebhookDelivery] { throw Down() }
}

/// Every stream's channel is `channel` (nil: none), without a watermark image: the directory
/// workers read settings and webhooks from.
struct SameChannel: ChannelDirectory {
    var channel: StreamChannel?

    /// No stream has a channel.
    static let none = SameChannel(channel: nil)

    /// Every stream's channel has `webhooks`.
    static func webhooks(_ webhooks: [Webhook]) -> SameChannel {
        SameChannel(channel: StreamChannel(name: "hooks", webhooks: webhooks))
    }

    func channel(of stream: StreamID) async throws -> StreamChannel? { channel }
    func watermarkImageBytes(of stream: StreamID) async throws -> [UInt8]? { nil }
}

/// The worker as a whole, against a real receiver on loopback: which events become which
/// deliveries, what each attempt leaves in the delivery store, the bus feeding it, a full queue
/// and a shutdown parking what they could not deliver.
@Suite(.timeLimit(.minutes(1))) struct WebhookWorkerTests {
    let bus = EmbeddedEventBus()
    let stream = StreamID("cam1")!

    func worker(hooks: [Webhook], deliveries: any WebhookDeliveryStore = WebhookDeliveryLog(), attempts: Int = 1,
                queueLimit: Int = 1000) async throws -> WebhookWorker {
        let settings = try await SQLiteWebhookSettingsStore(database: try SQLiteDatabase(path: nil))
        try await settings.setWebhooks(hooks)
        let loopback = DestinationPolicy(allowing: [IPAddressRange("127.0.0.0/8")!])
        return WebhookWorker(bus: bus, settings: settings, deliveries: deliveries, node: "node-7",
                             configuration: .init(attempts: attempts, firstRetry: .milliseconds(10), queueLimit: queueLimit,
                                                  destinations: loopback),
                             channels: SameChannel.none, logger: Logger(label: "test"))
    }

    func asset(_ kind: String) -> AssetCreated {
        AssetCreated(assetID: "asset-\(kind)", kind: kind, channelID: "ch", streamID: stream, sessionID: 1,
                     start: Date(timeIntervalSince1970: 1_800_000_000), duration: 0, size: 10, location: "ch/\(kind)/f",
                     contentType: "image/jpeg")
    }

    /// The JSON envelope a receiver was sent.
    func envelope(_ request: ScriptedReceiver.Request) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
    }

    /// The next parked event, or nil when the bus ends first.
    func nextParked(_ letters: inout BusSubscription.AsyncIterator) async throws -> WebhookDeadLetter? {
        while let delivery = try await letters.next() {
            if case .webhookDeadLetter(let letter) = delivery.record.value { return letter }
        }
        return nil
    }

    @Test func picturesBecomeSnapshotReadyAndEverythingElseRecordingReady() async throws {
        let receiver = try ScriptedReceiver(statuses: [204])
        defer { receiver.stop() }
        let worker = try await worker(hooks: [Webhook(url: receiver.url, events: ["snapshot.ready", "recording.ready"])])
        for kind in ["snapshot", "motion-snapshot", "mp4", "vod-playlist", "motion-clip"] { await worker.dispatch(asset(kind)) }

        let requests = await receiver.first(5)
        #expect(requests.map { $0.headers["x-sluice-event"] }
            == ["snapshot.ready", "snapshot.ready", "recording.ready", "recording.ready", "recording.ready"])
        for request in requests {
            let body = try envelope(request)
            #expect(body["type"] as? String == request.headers["x-sluice-event"])
            #expect(body["id"] as? String == request.headers["x-sluice-delivery"])
            #expect(body["source"] as? String == "node-7")
            let data = try #require(body["data"] as? [String: Any])
            #expect((data["assetId"] as? String)?.hasPrefix("asset-") == true, "\(data)")
        }
    }

    /// Every attempt leaves a record: `retrying` with the status it got, then the final word.
    @Test func eachAttemptIsRecordedAndTheLastOneSaysHowItEnded() async throws {
        let receiver = try ScriptedReceiver(statuses: [502, 500, 201])
        defer { receiver.stop() }
        let log = AttemptLog()
        let worker = try await worker(hooks: [], deliveries: log, attempts: 4)
        await worker.deliver(WebhookWorker.Job(eventID: "e9", eventType: "stream.online", streamID: "cam1", body: []),
                             to: receiver.url)
        let attempts = await log.all
        #expect(attempts.map(\.status) == [.retrying, .retrying, .delivered])
        #expect(attempts.map(\.attempts) == [1, 2, 3])
        #expect(attempts.map(\.httpStatus) == [502, 500, 201])
        #expect(attempts.map(\.error) == ["HTTP 502", "HTTP 500", nil])
        #expect(attempts.allSatisfy { $0.eventID == "e9" && $0.url == receiver.url && $0.streamID == "cam1" })
    }

    @Test func aDeliveryStoreThatFailsCostsTheRecordNotTheDelivery() async throws {
        let receiver = try ScriptedReceiver(statuses: [204])
        defer { receiver.stop() }
        var letters = bus.subscribe(to: .webhookDeadLetter, as: .fromNow).makeAsyncIterator()
        let worker = try await worker(hooks: [], deliveries: BrokenDeliveryStore(), attempts: 3)
        await worker.deliver(WebhookWorker.Job(eventID: "e3", eventType: "stream.online", streamID: "cam1", body: []),
                             to: receiver.url)
        #expect(await receiver.first(1).count == 1)
        // Delivered on the first attempt, so nothing was parked: the bus ends with nothing on the topic.
        await bus.shutdown()
        #expect(try await nextParked(&letters) == nil)
    }

    /// `run` reads both topics: a lifecycle event and an asset published on the bus reach the receiver.
    @Test func eventsPublishedOnTheBusAreDelivered() async throws {
        let receiver = try ScriptedReceiver(statuses: [204])
        defer { receiver.stop() }
        let worker = try await worker(hooks: [Webhook(url: receiver.url, events: ["stream.online", "recording.ready"])])
        let running = Task { try await worker.run() }
        defer { running.cancel() }
        let online = LifecycleEvent.online(StreamOnline(streamID: stream, sessionID: 1, node: "n", client: "c", protocolName: "rtmp"))
        try bus.publish(BusRecord(key: "cam1", value: .lifecycle(online)), to: .streamLifecycle)
        try bus.publish(BusRecord(key: "cam1", value: .asset(asset("mp4"))), to: .assets)

        let requests = await receiver.first(2)
        #expect(requests.compactMap { $0.headers["x-sluice-event"] }.sorted() == ["recording.ready", "stream.online"])
        let lifecycle = try #require(requests.first { $0.headers["x-sluice-event"] == "stream.online" })
        #expect(try EventCodec().decodeLifecycle(Data(lifecycle.body)).event == online)
    }

    /// With the receiver holding the first event, the second waits in its queue (limit 1) and the
    /// third is parked at once; shutting down parks the one in flight.
    @Test func aFullQueueAndAShutdownParkWhatTheyCouldNotDeliver() async throws {
        let receiver = try ScriptedReceiver(statuses: [ScriptedReceiver.hold])
        defer { receiver.stop() }
        var letters = bus.subscribe(to: .webhookDeadLetter, as: .fromNow).makeAsyncIterator()
        let worker = try await worker(hooks: [Webhook(url: receiver.url, events: ["stream.offline"])], attempts: 5, queueLimit: 1)
        let running = Task { try await worker.run() }
        defer { running.cancel() }
        func offline(_ session: UInt64) -> LifecycleEvent {
            .offline(StreamOffline(streamID: stream, sessionID: session, reason: .stopped, bytes: 0, durationSeconds: 1))
        }
        await worker.dispatch(offline(1))
        let inFlight = try #require(await receiver.first(1).first?.headers["x-sluice-delivery"], "the first event is in flight")
        await worker.dispatch(offline(2))
        await worker.dispatch(offline(3))

        let full = try #require(try await nextParked(&letters))
        #expect(full.lastError == "the receiver's queue is full" && full.attempts == 0 && full.eventID != inFlight, "\(full)")

        running.cancel()
        _ = await running.result
        let shutDown = try #require(try await nextParked(&letters))
        #expect(shutDown.lastError.hasPrefix("shut down before delivery: "), "\(shutDown)")
        #expect(shutDown.attempts == 1 && shutDown.eventID == inFlight)
    }
}
