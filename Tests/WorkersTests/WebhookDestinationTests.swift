import Events
import Foundation
import Logging
import State
import Testing
@testable import Workers

/// Deliveries to receivers the destination policy refuses fail at once, in Sluice's words.
@Suite(.timeLimit(.minutes(1))) struct WebhookDestinationTests {
    @Test(arguments: [("http://127.0.0.1:9/hook", "destination 127.0.0.1 refused by the destination policy (a loopback address)"),
                      ("http://localhost:9/hook", "destination localhost refused by the destination policy (a loopback address)"),
                      ("http://[::ffff:169.254.169.254]/latest", "destination ::ffff:169.254.169.254 refused by the destination policy (a cloud metadata address)")])
    func aRefusedReceiverIsAFailedDeliveryWithSluicesMessage(url: String, message: String) async throws {
        let bus = EmbeddedEventBus()
        let deadLetters = bus.subscribe(to: .webhookDeadLetter, as: .fromNow)
        let deliveries = WebhookDeliveryLog()
        let worker = WebhookWorker(bus: bus, settings: try await SQLiteWebhookSettingsStore(database: try SQLiteDatabase(path: nil)),
                                   deliveries: deliveries, node: "test", configuration: .init(attempts: 3, firstRetry: .milliseconds(10)),
                                   channels: SameChannel.none, logger: Logger(label: "test"))
        let job = WebhookWorker.Job(eventID: "e1", eventType: "stream.online", streamID: "s1", body: Array("{}".utf8))
        await worker.deliver(job, to: url)
        let delivery = try #require(deliveries.recent().first)
        #expect(delivery.status == .failed)
        #expect(delivery.attempts == 1, "a refusal is not retried")
        #expect(delivery.httpStatus == nil)
        #expect(delivery.error == message)
        for try await parked in deadLetters {
            guard case .webhookDeadLetter(let letter) = parked.record.value else { continue }
            #expect(letter.lastError == message)
            break
        }
    }

    @Test func connectionErrorsAreSluicesShortMessages() async throws {
        let deliveries = WebhookDeliveryLog()
        let worker = WebhookWorker(bus: EmbeddedEventBus(), settings: try await SQLiteWebhookSettingsStore(database: try SQLiteDatabase(path: nil)),
                                   deliveries: deliveries, node: "test",
                                   configuration: .init(attempts: 1, destinations: DestinationPolicy(allowing: [IPAddressRange("127.0.0.0/8")!])),
                                   channels: SameChannel.none, logger: Logger(label: "test"))
        // Port 9 (discard) on loopback: nothing listens in the test environment.
        await worker.deliver(WebhookWorker.Job(eventID: "e2", eventType: "stream.online", streamID: "s1", body: []), to: "http://127.0.0.1:9/")
        let delivery = try #require(deliveries.recent().first)
        #expect(["could not connect", "timed out"].contains(delivery.error ?? ""), "\(delivery)")
    }
}
