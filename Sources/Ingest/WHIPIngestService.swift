import Events
import Foundation
import Logging
import NIOConcurrencyHelpers
import SDP
import ServiceLifecycle
import WebRTC
import WebRTCMedia

/// WHIP ingest (RFC 9725): a publisher's SDP offer, posted to `/{id}/whip`, goes through the
/// publish path every protocol takes (`IngestPolicy.admitPublish` with protocol `whip`: the push
/// signature over `/{app}/{id}`, the channel, the admission hook, the bus, the cluster-wide
/// publish lock), then becomes a peer session on the node's `WebRTCServer` whose media a
/// `WHIPReceiver` turns into the same FLV tags, and so `MediaFrame`s, an RTMP publisher's give.
///
/// The publish goes live when the peer's DTLS finishes; a grant whose peer does not connect
/// within `connectTimeout` gives its lock back. The peer's close ends the stream as
/// disconnected, `DELETE` as unpublished, a kick or a lost lock closes the peer session. On
/// shutdown every WHIP publisher is stopped.
public final class WHIPIngestService: Service, WHIPPublishing {
    private let environment: IngestEnvironment
    private let server: WebRTCServer
    private let policy: IngestPolicy
    private let connectTimeout: Duration
    // the publish sessions by peer session id: added by `publish`, removed when the peer closes, read by `end`
    private let sessions = NIOLockedValueBox([String: WHIPPublishSession]())

    /// - Parameter connectTimeout: how long an admitted publisher has to connect (ICE and
    ///   DTLS) before its lock goes back. Default 10 s.
    public init(environment: IngestEnvironment, server: WebRTCServer, connectTimeout: Duration = .seconds(10)) {
        self.environment = environment
        self.server = server
        self.connectTimeout = connectTimeout
        policy = IngestPolicy(environment: environment, protocolName: "whip")
    }

    public func run() async throws {
        try? await gracefulShutdown()
        let open = sessions.withLockedValue { Array($0.values) }
        environment.logger.info("stopping WHIP", metadata: ["publishers": "\(open.count)"])
        for session in open { session.stop(description: "Server shutting down.") }
    }

    /// The WHIP publishes on this node, by stream and peer session id.
    public var publishes: [(stream: StreamID, session: String)] {
        sessions.withLockedValue { $0.map { ($0.value.streamID, $0.key) } }
    }

    public func publish(name: String, sign: String?, query: [String: String], offer: WebRTCOffer, clientIP: String?,
                        peer: String) async -> Result<WebRTCSessionCreated, WebRTCRefusal> {
        var query = query
        if let sign { query["sign"] = sign }
        let attempt = PublishAttempt(name: name, app: environment.configuration.application, query: query, protocolName: "whip",
                                     connection: WHIPOfferingPeer(peer: peer, peerIP: clientIP))
        let grant: PublishGrant
        switch await policy.admitPublish(attempt) {
        case .failure(let refusal): return .failure(WebRTCRefusal(refusal.kind.webRTCKind, refusal.reason))
        case .success(let granted): grant = granted
        }
        let session = WHIPPublishSession(grant: grant, policy: policy, httpPeer: peer, clientIP: clientIP,
                                         logger: environment.logger)
        let peerSession: PeerSession
        do {
            peerSession = try server.makeSession(offer: offer, role: .whip, ssrcs: (nil, nil), streamLabel: grant.streamID.rawValue,
                                                 delegate: receiver(for: session))
        } catch {
            await policy.abandon(grant)
            environment.logger.notice("WHIP offer refused", metadata: ["stream": "\(grant.streamID)", "peer": "\(peer)",
                                                                       "reason": "\(error.message)"])
            let kind: WebRTCRefusal.Kind = error.message.hasPrefix("offer cannot be answered") ? .badRequest : .unavailable
            return .failure(WebRTCRefusal(kind, error.message))
        }
        sessions.withLockedValue { $0[peerSession.id] = session }
        session.attach(peerSession)
        let timeout = connectTimeout
        Task {
            try? await Task.sleep(for: timeout)
            session.abandonUnconnected()
        }
        environment.logger.info("WHIP publish admitted", metadata: ["stream": "\(grant.streamID)", "peer": "\(peer)",
                                                                    "session": "\(peerSession.id)"])
        return .success(WebRTCSessionCreated(sessionID: peerSession.id, answer: peerSession.answer.text))
    }

    public func end(stream: StreamID, session id: String) async -> Bool {
        guard let session = sessions.withLockedValue({ $0[id] }), session.streamID == stream else { return false }
        session.unpublish()
        return true
    }

    /// The receiver of one publish: its tags, connection and close go to `session`.
    private func receiver(for session: WHIPPublishSession) -> WHIPReceiver {
        let callbacks = WHIPReceiver.Callbacks(
            onTag: { [weak session] type, body, dts in session?.received(tag: type, body: body, dts: dts) },
            onConnected: { [weak session] _ in session?.connected() },
            onClosed: { [sessions] peer, reason in
                let closing = sessions.withLockedValue { $0.removeValue(forKey: peer.id) }
                closing?.closed(reason: reason)
            })
        return WHIPReceiver(name: session.streamID.rawValue, logger: environment.logger, callbacks: callbacks)
    }
}

extension PublishRefusal.Kind {
    /// The WHIP answer (HTTP status) of this refusal.
    var webRTCKind: WebRTCRefusal.Kind {
        switch self {
        case .badRequest: return .badRequest
        case .unauthorized: return .unauthorized
        case .notFound: return .notFound
        case .conflict: return .conflict
        case .unavailable: return .unavailable
        }
    }
}
