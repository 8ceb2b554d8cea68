import Events
import Foundation
import Logging
import State
import TestSupport
import Testing
@testable import Workers

/// A webhook receiver on 127.0.0.1: answers each request with the next status of its script (the
/// last one repeats), closes the connection, and hands over what it was sent. One blocking thread.
/// The status `ScriptedReceiver.hold` answers nothing: the connection stays open until `stop()`,
/// so the delivery stays in flight.
final class ScriptedReceiver: @unchecked Sendable {
    // @unchecked: `statuses` is touched only by the serving thread, `held` only under its lock; the rest is immutable.
    struct Request: Sendable {
        var target: String
        /// Header names in lowercase.
        var headers: [String: String]
        var body: [UInt8]
        var arrived: Date
    }

    let port: Int
    let requests: AsyncStream<Request>
    private let received: AsyncStream<Request>.Continuation
    private let listener: Int32
    private var statuses: [Int]
    private let held = NSLock()
    private var heldConnections: [Int32] = []

    /// Never answers (see the type's comment).
    static let hold = 0

    init(statuses: [Int]) throws {
        self.statuses = statuses
        (requests, received) = AsyncStream.makeStream(of: Request.self)
        (listener, port) = try Loopback.listen()
        Thread.detachNewThread { self.serve() }
    }

    var url: String { "http://127.0.0.1:\(port)/hook" }

    func stop() {
        // Only shut down: the serving thread closes the listener as it leaves, so its descriptor is
        // not reused by another test's socket while that thread may still accept on it.
        shutdown(listener, Int32(SHUT_RDWR))
        held.withLock {
            heldConnections.forEach { close($0) }
            heldConnections = []
        }
        received.finish()
    }

    /// The first `count` requests, in the order they arrived.
    func first(_ count: Int) async -> [Request] {
        var iterator = requests.makeAsyncIterator()
        var got: [Request] = []
        while got.count < count, let request = await iterator.next() { got.append(request) }
        return got
    }

    private func serve() {
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else {
                close(listener)
                return
            }
            if let request = readRequest(connection) {
                let status = statuses.count > 1 ? statuses.removeFirst() : statuses[0]
                if status == Self.hold {
                    held.withLock { heldConnections.append(connection) }
                    received.yield(request)
                    continue
                }
                let answer = "HTTP/1.1 \(status) Scripted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                _ = answer.utf8CString.withUnsafeBufferPointer { write(connection, $0.baseAddress, $0.count - 1) }
                received.yield(request)
            }
            close(connection)
        }
    }

    private func readRequest(_ connection: Int32) -> Request? {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        let separator = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        var expected = Int.max
        while bytes.count < expected {
            let count = read(connection, &chunk, chunk.count)
            guard count > 0 else { return nil }
            bytes += chunk[..<count]
            if headEnd == nil, let end = bytes.firstRange(of: separator)?.upperBound {
                headEnd = end
                let head = String(decoding: bytes[..<end], as: UTF8.self)
                let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                expected = end + (length.flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0)
            }
        }
        guard let headEnd else { return nil }
        let lines = String(decoding: bytes[..<headEnd], as: UTF8.self).split(separator: "\r\n")
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let target = lines.first?.split(separator: " ").dropFirst().first.map(String.init) ?? ""
        return Request(target: target, headers: headers, body: Array(bytes[headEnd...]), arrived: Date())
    }
}

/// Delivery to a real receiver on loopback: failed attempts are retried with doubling waits,
/// an event no attempt delivered is parked (its receiver redacted), each attempt is signed, and
/// events reach only the receivers that want them, once per URL.
@Suite(.timeLimit(.minutes(1))) struct WebhookRetryTests {
    let bus = EmbeddedEventBus()
    let deliveries = WebhookDeliveryLog()
    let job = WebhookWorker.Job(eventID: "e1", eventType: "stream.online", streamID: "cam1", body: Array(#"{"type":"stream.online"}"#.utf8))

    func worker(attempts: Int, firstRetry: Duration, settings: (any WebhookSettingsStore)? = nil,
                channelHooks: [Webhook] = []) async throws -> WebhookWorker {
        var store = settings
        if store == nil { store = try await SQLiteWebhookSettingsStore(database: try SQLiteDatabase(path: nil)) }
        let loopback = DestinationPolicy(allowing: [IPAddressRange("127.0.0.0/8")!])
        return WebhookWorker(bus: bus, settings: store!, deliveries: deliveries, node: "test",
                             configuration: .init(attempts: attempts, firstRetry: firstRetry, destinations: loopback),
                             channels: SameChannel.webhooks(channelHooks), logger: Logger(label: "test"))
    }

    @Test func failedAttemptsAreRetriedWithDoublingWaitsUntilDelivered() async throws {
        let receiver = try ScriptedReceiver(statuses: [500, 503, 204])
        defer { receiver.stop() }
        let worker = try await worker(attempts: 5, firstRetry: .milliseconds(150))
        await worker.deliver(job, to: receiver.url)

        let delivery = try #require(deliveries.recent().first)
        #expect(delivery.status == .delivered && delivery.attempts == 3 && delivery.httpStatus == 204, "\(delivery)")
        let requests = await receiver.first(3)
        #expect(requests.map { $0.headers["x-sluice-delivery"] } == ["e1", "e1", "e1"])
        #expect(requests.allSatisfy { $0.body == job.body && $0.headers["x-sluice-event"] == "stream.online" })
        // 150 ms before the first retry, twice that before the second.
        let gaps = zip(requests.dropFirst(), requests).map { $0.arrived.timeIntervalSince($1.arrived) }
        #expect(gaps.count == 2 && gaps[0] >= 0.15 && gaps[1] >= 0.3, "\(gaps)")
    }

    @Test func anEventNoAttemptDeliveredIsParkedWithTheReceiverRedacted() async throws {
        let receiver = try ScriptedReceiver(statuses: [500])
        defer { receiver.stop() }
        let parked = bus.subscribe(to: .webhookDeadLetter, as: .fromNow)
        let worker = try await worker(attempts: 3, firstRetry: .milliseconds(10))
        let url = receiver.url + "?token=hook-credential"
        await worker.deliver(job, to: url)

        let delivery = try #require(deliveries.recent().first)
        #expect(delivery.status == .failed && delivery.attempts == 3 && delivery.httpStatus == 500 && delivery.error == "HTTP 500")
        #expect(await receiver.first(3).count == 3)
        var letters = parked.makeAsyncIterator()
        guard case .webhookDeadLetter(let letter)? = try await letters.next()?.record.value else {
            Issue.record("nothing parked")
            return
        }
        #expect(letter.attempts == 3 && letter.lastError == "HTTP 500" && letter.eventID == "e1" && letter.streamID == "cam1")
        #expect(letter.body == String(decoding: job.body, as: UTF8.self))
        #expect(!letter.url.contains("hook-credential"), "\(letter.url)")
        #expect(letter.url.hasPrefix("http://127.0.0.1:\(receiver.port)/"))
    }

    /// `X-Sluice-Signature: t={seconds},v1={HMAC-SHA256 of "{t}.{body}"}` under the store's secret.
    @Test func eachAttemptIsSignedWithTheStoresSecret() async throws {
        let receiver = try ScriptedReceiver(statuses: [200])
        defer { receiver.stop() }
        let settings = try await SQLiteWebhookSettingsStore(database: try SQLiteDatabase(path: nil))
        let worker = try await worker(attempts: 1, firstRetry: .milliseconds(10), settings: settings)
        let before = Date()
        await worker.deliver(job, to: receiver.url)
        let request = try #require(await receiver.first(1).first)
        let signature = try #require(request.headers["x-sluice-signature"])
        let seconds = try #require(signature.split(separator: ",").first.flatMap { Int64($0.dropFirst(2)) })
        #expect(abs(Double(seconds) - before.timeIntervalSince1970) < 5)
        #expect(signature == settings.current.signature(of: request.body, at: Date(timeIntervalSince1970: Double(seconds))))
        let other = WebhookSettings(signingSecret: "another-secret")
        #expect(signature != other.signature(of: request.body, at: Date(timeIntervalSince1970: Double(seconds))))
    }

    /// Per receiver, events arrive in order: if an unwanted or duplicate event had been queued,
    /// it would arrive before the next wanted one.
    @Test func eventsReachOnlyReceiversThatWantThemOncePerURL() async throws {
        let receiver = try ScriptedReceiver(statuses: [204])
        defer { receiver.stop() }
        let settings = try await SQLiteWebhookSettingsStore(database: try SQLiteDatabase(path: nil))
        try await settings.setWebhooks([Webhook(url: receiver.url, events: ["stream.offline"])])
        let worker = try await worker(attempts: 1, firstRetry: .milliseconds(10), settings: settings,
                                      channelHooks: [Webhook(url: receiver.url, events: ["stream.offline", "publish.rejected"])])
        let stream = StreamID("cam1")!
        await worker.dispatch(.online(StreamOnline(streamID: stream, sessionID: 1, node: "n", client: "c", protocolName: "rtmp")))
        await worker.dispatch(.offline(StreamOffline(streamID: stream, sessionID: 1, reason: .unpublished, bytes: 0, durationSeconds: 1)))
        await worker.dispatch(.publishRejected(PublishRejected(streamID: "cam1", code: "c", reason: "r", client: "c")))
        await worker.dispatch(.offline(StreamOffline(streamID: stream, sessionID: 2, reason: .stopped, bytes: 0, durationSeconds: 1)))
        let events = await receiver.first(3).map { $0.headers["x-sluice-event"] }
        #expect(events == ["stream.offline", "publish.rejected", "stream.offline"])
    }
}
