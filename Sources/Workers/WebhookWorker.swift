import AsyncHTTPClient
import Events
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import State

/// POSTs stream events to webhook receivers: each channel's `webhooks` and the global list,
/// filtered by their `events`. The body is the event's JSON envelope (the same shape as on the
/// bus); `X-Sluice-Signature` signs it with HMAC-SHA256. Each receiver has its own queue, so its
/// events arrive in order and a slow or broken one delays nobody else; a failed attempt is
/// retried with doubling waits, and an event no attempt delivered is parked on
/// `sluice.webhooks.deadletter`.
public final class WebhookWorker: Service, Sendable {
    public struct Configuration: Sendable {
        /// Attempts per event and receiver, the first included. Default 6.
        public var attempts: Int
        /// Wait before the first retry; each further retry waits twice as long. Default 1 s
        /// (so 1, 2, 4, 8, 16 s: about half a minute in all).
        public var firstRetry: Duration
        /// Longest a receiver may take to answer one attempt. Default 10 s.
        public var timeout: Duration
        /// Longest an attempt keeps trying to connect (a receiver that is down fails the
        /// attempt after this). Default 2 s.
        public var connectTimeout: Duration
        /// Events waiting per receiver; more are parked at once. Default 1000.
        public var queueLimit: Int
        /// Where receivers may be (`--allow-destination`). Default: no loopback or private
        /// addresses. A receiver the policy refuses fails at once, without retries.
        public var destinations: DestinationPolicy

        public init(attempts: Int = 6, firstRetry: Duration = .seconds(1), timeout: Duration = .seconds(10),
                    connectTimeout: Duration = .seconds(2), queueLimit: Int = 1000, destinations: DestinationPolicy = .init()) {
            self.attempts = max(1, attempts)
            self.firstRetry = firstRetry
            self.timeout = timeout
            self.connectTimeout = connectTimeout
            self.queueLimit = queueLimit
            self.destinations = destinations
        }
    }

    /// One event on its way to one receiver.
    struct Job: Sendable {
        var eventID: String
        var eventType: String
        var streamID: String
        var body: [UInt8]
    }

    private let bus: any EventBus
    private let lifecycle: BusSubscription
    private let assets: BusSubscription
    private let settings: any WebhookSettingsStore
    private let deliveries: any WebhookDeliveryStore
    private let node: String
    private let configuration: Configuration
    private let logger: Logger
    /// Where a stream's own webhooks come from: its channel's `webhooks`.
    private let channels: any ChannelDirectory
    /// One sender per receiver URL: made by the lifecycle and asset tasks, drained at shutdown; a lookup
    /// never suspends, so a lock.
    private let senders = NIOLockedValueBox([String: Sender]())
    private let client: DestinationHTTPClient

    public init(bus: any EventBus, feed: WorkerFeed = .fromNow, settings: any WebhookSettingsStore, deliveries: any WebhookDeliveryStore, node: String,
                configuration: Configuration = .init(), channels: any ChannelDirectory, logger: Logger) {
        self.bus = bus
        lifecycle = bus.subscribe(to: .streamLifecycle, as: feed)
        assets = bus.subscribe(to: .assets, as: feed)
        self.settings = settings
        self.deliveries = deliveries
        self.node = node
        self.configuration = configuration
        self.logger = logger
        self.channels = channels
        client = DestinationHTTPClient(configuration: .init(connectTimeout: configuration.connectTimeout))
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask {
                    for try await delivery in self.lifecycle {
                        guard case .lifecycle(let event) = delivery.record.value else { continue }
                        await self.dispatch(event)
                    }
                }
                tasks.addTask {
                    for try await delivery in self.assets {
                        guard case .asset(let asset) = delivery.record.value else { continue }
                        await self.dispatch(asset)
                    }
                }
                try await tasks.next()
                tasks.cancelAll()
            }
        }
        let ending = senders.withLockedValue { senders in
            defer { senders.removeAll() }
            return Array(senders.values)
        }
        for sender in ending { await sender.finish() }
        await client.shutdown()
    }

    // MARK: Events to jobs

    func dispatch(_ event: LifecycleEvent) async {
        let id = UUID()
        guard let body = try? EventCodec().encode(event, id: id, time: Date(), source: node) else { return }
        await enqueue(Job(eventID: id.uuidString.lowercased(), eventType: event.type, streamID: event.key, body: Array(body)))
    }

    /// Recordings become `recording.ready`, pictures `snapshot.ready`, with the asset as data.
    func dispatch(_ asset: AssetCreated) async {
        let type = ["snapshot", "motion-snapshot"].contains(asset.kind) ? "snapshot.ready" : "recording.ready"
        let id = UUID().uuidString.lowercased()
        guard let body = try? EventCodec().encode(type: type, asset, id: id, time: Date(), source: node) else { return }
        await enqueue(Job(eventID: id, eventType: type, streamID: asset.streamID.rawValue, body: Array(body)))
    }

    private func enqueue(_ job: Job) async {
        var urls: [String] = []
        var channelHooks: [Webhook] = []
        if let id = StreamID(job.streamID) { channelHooks = await channels.channel(of: id, logger: logger)?.webhooks ?? [] }
        for hook in settings.current.webhooks + channelHooks where hook.wants(job.eventType) && !urls.contains(hook.url) {
            urls.append(hook.url)
        }
        for url in urls {
            let sender = senders.withLockedValue { senders in
                if let sender = senders[url] { return sender }
                let sender = Sender(url: url, worker: self)
                senders[url] = sender
                return sender
            }
            if !sender.send(job) { park(job, url: url, attempts: 0, error: "the receiver's queue is full") }
        }
    }

    // MARK: Delivery

    /// Tries `job` up to the configured attempts; parks it when none succeeds. Cancellation
    /// (shutdown) parks it too.
    func deliver(_ job: Job, to url: String) async {
        var lastError = ""
        var wait = configuration.firstRetry
        for attempt in 1...configuration.attempts {
            let outcome = await post(job, to: url)
            if case .success = outcome {
                await note(WebhookDelivery(eventID: job.eventID, eventType: job.eventType, streamID: job.streamID, url: url,
                                           status: .delivered, attempts: attempt, httpStatus: outcome.status))
                return
            }
            lastError = outcome.message
            let final = attempt == configuration.attempts || Task.isCancelled || outcome.isRefusal
            await note(WebhookDelivery(eventID: job.eventID, eventType: job.eventType, streamID: job.streamID, url: url,
                                       status: final ? .failed : .retrying, attempts: attempt, httpStatus: outcome.status,
                                       error: lastError))
            if final {
                park(job, url: url, attempts: attempt, error: Task.isCancelled ? "shut down before delivery: \(lastError)" : lastError)
                return
            }
            try? await Task.sleep(for: wait)
            wait *= 2
        }
    }

    /// Records how a delivery went for the console; a store that fails costs the record, not
    /// the delivery.
    private func note(_ delivery: WebhookDelivery) async {
        do {
            try await deliveries.record(delivery)
        } catch {
            logger.warning("webhook delivery not recorded", metadata: ["event": "\(delivery.eventID)", "error": "\(error)"])
        }
    }

    /// How one attempt went. Messages are Sluice's own; a receiver's body is never kept.
    enum Outcome {
        case success(Int)
        case failure(status: Int?, message: String)
        /// The destination policy refused the receiver: no point in trying again.
        case refused(String)

        var isRefusal: Bool {
            if case .refused = self { return true }
            return false
        }

        var status: Int? {
            switch self {
            case .success(let status): return status
            case .failure(let status, _): return status
            case .refused: return nil
            }
        }

        var message: String {
            switch self {
            case .success: return ""
            case .failure(_, let message), .refused(let message): return message
            }
        }
    }

    private func post(_ job: Job, to url: String) async -> Outcome {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Sluice-Webhooks/1")
        request.headers.add(name: "X-Sluice-Event", value: job.eventType)
        request.headers.add(name: "X-Sluice-Delivery", value: job.eventID)
        request.headers.add(name: "X-Sluice-Signature", value: settings.current.signature(of: job.body, at: Date()))
        request.body = .bytes(ByteBuffer(bytes: job.body))
        do {
            let status = try await client.execute(request, policy: configuration.destinations, timeout: configuration.timeout)
            guard (200..<300).contains(status) else { return .failure(status: status, message: "HTTP \(status)") }
            return .success(status)
        } catch {
            if case .refused(let refusal) = error {
                logger.warning("webhook receiver refused by the destination policy",
                               metadata: ["event": "\(job.eventType)", "stream": "\(job.streamID)", "refusal": "\(refusal)"])
                return .refused(refusal.description)
            }
            return .failure(status: nil, message: error.description)
        }
    }

    private func park(_ job: Job, url: String, attempts: Int, error: String) {
        logger.warning("webhook not delivered; parked", metadata: ["event": "\(job.eventType)", "stream": "\(job.streamID)",
                                                                  "attempts": "\(attempts)", "error": "\(error)"])
        // The topic is read by every worker and by audits: the receiver only, never its tokens.
        let letter = WebhookDeadLetter(url: ChannelRedaction.webhookURL(url), eventType: job.eventType, eventID: job.eventID, streamID: job.streamID,
                                       attempts: attempts, lastError: error, body: String(decoding: job.body, as: UTF8.self))
        do {
            try bus.publish(BusRecord(key: job.streamID, value: .webhookDeadLetter(letter)), to: .webhookDeadLetter)
        } catch {
            logger.error("webhook dead letter not published", metadata: ["error": "\(error)"])
        }
    }

    var queueLimit: Int { configuration.queueLimit }

    /// One receiver's queue: a task that delivers its jobs one after another.
    final class Sender: Sendable {
        private let continuation: AsyncStream<Job>.Continuation
        private let task: Task<Void, Never>

        init(url: String, worker: WebhookWorker) {
            let (jobs, continuation) = AsyncStream.makeStream(of: Job.self, bufferingPolicy: .bufferingOldest(worker.queueLimit))
            self.continuation = continuation
            task = Task {
                for await job in jobs { await worker.deliver(job, to: url) }
            }
        }

        /// `false` when the queue is full.
        func send(_ job: Job) -> Bool {
            if case .enqueued = continuation.yield(job) { return true }
            return false
        }

        /// Ends the queue at shutdown: the job in flight gets parked, the rest are dropped with the process.
        func finish() async {
            continuation.finish()
            task.cancel()
            await task.value
        }
    }
}
