import Events
import Foundation
import Logging
import ServiceLifecycle
import State

/// Heartbeats of this ingest node in session state, and the watch over the others: every third
/// of `ttl` the node records that it is alive for `ttl`; a live session whose node has not beaten
/// within its TTL is ended (with that node's publish lock, so the encoder can publish again on
/// another node) and announced as `stream.offline` (`nodeLost`) by exactly one survivor.
public final class NodeWatch: Service, Sendable {
    private let environment: IngestEnvironment
    private let ttl: Duration

    public init(environment: IngestEnvironment, ttl: Duration) {
        self.environment = environment
        self.ttl = ttl
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.beatAndWatch()
                // Cancelled at shutdown: the loop ends, nothing is thrown.
                try? await Task.sleep(for: self.ttl / 3)
            }
        }
    }

    func beatAndWatch() async {
        let node = environment.configuration.nodeID
        let sessions = environment.sessions
        do {
            try await sessions.heartbeat(node: node, ttl: ttl)
            let now = environment.now()
            let graceSeconds = Double(ttl.components.seconds)
            for session in try await sessions.liveSessions() where session.node != node {
                // A node's first heartbeat may land just after its first session: judge only
                // sessions older than one TTL.
                guard now.timeIntervalSince(session.startedAt) > graceSeconds,
                      try await !sessions.isAlive(node: session.node),
                      try await sessions.endSessionOfLostNode(session) else { continue }
                environment.logger.warning("ingest node lost; its stream is offline",
                                           metadata: ["stream": "\(session.streamID)", "node": "\(session.node)"])
                environment.announce(.offline(StreamOffline(streamID: session.streamID, sessionID: session.sessionID,
                                                            reason: .nodeLost, bytes: 0,
                                                            durationSeconds: now.timeIntervalSince(session.startedAt))))
            }
        } catch {
            environment.logger.error("node heartbeat failed", metadata: ["error": "\(error)"])
        }
    }
}
