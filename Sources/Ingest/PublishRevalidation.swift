import Events
import ServiceLifecycle

/// Holds live publishers to the rules they were admitted under: every `interval` each publisher
/// on this node is checked against its channel as a new publish would be, and stopped (with an
/// `onStatus` saying why, then the usual `stream.offline`) when its channel was disabled,
/// deleted or has expired, or its push secret was rotated since it signed in. Every ingest node
/// checks its own publishers against the shared channel store, so this holds cluster-wide. A
/// channel store that does not answer stops nobody.
public final class PublishRevalidation: Service, Sendable {
    private let environment: IngestEnvironment
    private let interval: Duration

    /// - Parameter interval: how often publishers are checked; default 2 s.
    public init(environment: IngestEnvironment, interval: Duration = .seconds(2)) {
        self.environment = environment
        self.interval = interval
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.revalidate()
                try? await Task.sleep(for: self.interval)
            }
        }
    }

    /// One round: the publishers whose channel no longer admits them are stopped; returns them.
    @discardableResult
    func revalidate() async -> [StreamID] {
        let policy = IngestPolicy(environment: environment)
        var stopped: [StreamID] = []
        for (stream, session, secret) in environment.publishers.signedWith() {
            let reason: String
            switch await policy.pushSecret(for: stream) {
            case .success(let current) where current == secret: continue
            case .success: reason = "The channel's push secret was rotated; publish again with a new push URL."
            case .failure(let refusal) where refusal.isOutage: continue
            case .failure(let refusal): reason = refusal.reason
            }
            if environment.publishers.kick(stream, session: session, description: reason) {
                environment.logger.notice("publisher stopped: its channel no longer admits it",
                                          metadata: ["stream": "\(stream)", "reason": "\(reason)"])
                stopped.append(stream)
            }
        }
        return stopped
    }
}
