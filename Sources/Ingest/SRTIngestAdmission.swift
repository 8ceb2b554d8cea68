import Access
import Events
import Foundation
import NIOConcurrencyHelpers
import SRT

/// Decides each SRT caller's handshake from its streamid (`SRTStreamID`): a publish goes through
/// the same publish path as RTMP (`IngestPolicy.admitPublish`: signature, channel, admission
/// hook with protocol `srt`, bus, the cluster-wide publish lock), a play through
/// `PlaybackAccess.authorizePlay` and the stream's liveness. The channel's `srt` settings give
/// the connection its passphrase and latency. Refusals become SRT reject reasons (1400 bad
/// request, 1401 unauthorized, 1404 not found, 1409 conflict, 1503 unavailable).
struct SRTIngestAdmission: SRTAdmission {
    let policy: IngestPolicy
    /// A grant whose caller does not finish its handshake within this gives its lock back: a
    /// caller libsrt refuses after the decision (a wrong or missing passphrase) holds the stream
    /// that long, so a corrected retry within it is told 1409. The handshake's remaining round
    /// trips take milliseconds. Default 3 s.
    var handshakeTimeout: Duration = .seconds(3)

    var environment: IngestEnvironment { policy.environment }

    func decide(_ request: SRTConnectRequest) async -> SRTConnectDecision {
        let streamID: SRTStreamID
        do {
            streamID = try SRTStreamID(parsing: request.streamID)
        } catch {
            environment.logger.notice("SRT caller refused: malformed streamid",
                                      metadata: ["peer": "\(request.peer)", "reason": "\(error.message)"])
            return .reject(.badRequest)
        }
        guard streamID.app == nil || streamID.app == environment.configuration.application else {
            environment.logger.notice("SRT caller refused: unknown application", metadata: ["peer": "\(request.peer)"])
            return .reject(.notFound)
        }
        switch streamID.mode {
        case .publish: return await decidePublish(streamID, request)
        case .play: return await decidePlay(streamID, request)
        }
    }

    private func decidePublish(_ streamID: SRTStreamID, _ request: SRTConnectRequest) async -> SRTConnectDecision {
        let attempt = PublishAttempt(name: streamID.name, app: environment.configuration.application, query: streamID.query,
                                     protocolName: "srt", connection: SRTHandshakePeer(peer: request.peer, peerIP: request.peerIP))
        let grant: PublishGrant
        switch await policy.admitPublish(attempt) {
        case .failure(let refusal): return .reject(refusal.kind.srtReason)
        case .success(let granted): grant = granted
        }
        let pending = SRTPendingPublish(grant: grant, peerIP: request.peerIP)
        do {
            let acceptance = try await acceptance(.publish, for: grant.streamID, context: pending)
            let (policy, timeout) = (policy, handshakeTimeout)
            // A caller refused after this answer (a wrong passphrase) never connects: its lock goes back.
            Task {
                try? await Task.sleep(for: timeout)
                if pending.claim() != nil { await policy.abandon(grant) }
            }
            return .accept(acceptance)
        } catch {
            await policy.abandon(grant)
            return .reject(.unavailable)
        }
    }

    private func decidePlay(_ streamID: SRTStreamID, _ request: SRTConnectRequest) async -> SRTConnectDecision {
        guard let id = StreamID(streamID.name) else { return .reject(.badRequest) }
        let admission = await environment.access.authorizePlay(stream: id.rawValue, protocol: "srt", query: streamID.query,
                                                               clientIP: request.peerIP)
        if case .deny(let code, let reason) = admission {
            environment.logger.notice("play refused", metadata: [
                "stream": "\(id)", "code": "\(code)", "reason": "\(reason)", "peer": "\(request.peer)", "protocol": "srt",
            ])
            return .reject(code == "unavailable" ? .unavailable : .unauthorized)
        }
        // Only whether it is live: opening the stream's fan-out may wait for its first frame,
        // which the handshake must not (it holds libsrt's receive thread).
        if environment.hub.fanout(for: id) == nil {
            let recorded = try? await environment.sessions.session(id)
            guard recorded != nil else { return .reject(.notFound) }
        }
        do {
            return .accept(try await acceptance(.play, for: id, context: SRTPlayRequest(streamID: id)))
        } catch {
            return .reject(.unavailable)
        }
    }

    /// The connection's settings: the channel's passphrase and latency (the defaults for streams
    /// without a channel).
    private func acceptance(_ role: SRTRole, for stream: StreamID, context: any Sendable) async throws -> SRTAcceptance {
        var settings = StreamChannel.SRT()
        if let id = stream.channelID, let channel = try await environment.channels.channel(id) { settings = channel.srt }
        return try SRTAcceptance(role: role, passphrase: settings.passphrase, latencyMs: settings.latencyMs, context: context)
    }
}

/// A granted SRT publish waiting for its caller's connection: taken once, by the connection
/// or by the timeout that gives the lock back.
final class SRTPendingPublish: Sendable {
    // guards the grant's one hand-over: the SRT thread and the timeout task race for it
    private let grant: NIOLockedValueBox<PublishGrant?>
    /// The caller's IP address, as the admission hook was told it.
    let peerIP: String

    init(grant: PublishGrant, peerIP: String) {
        self.grant = NIOLockedValueBox(grant)
        self.peerIP = peerIP
    }

    /// Whether the grant was taken (by the connection or the timeout).
    var isTaken: Bool { grant.withLockedValue { $0 == nil } }

    /// The grant, the first time; nil after.
    func claim() -> PublishGrant? {
        grant.withLockedValue { grant in
            defer { grant = nil }
            return grant
        }
    }
}

/// An admitted SRT player's stream, handed back with its connection.
struct SRTPlayRequest: Sendable {
    let streamID: StreamID
}

/// The caller during its handshake: named in logs and events, asked about by the admission
/// hook; there is nothing to stop yet.
struct SRTHandshakePeer: PublishingConnection {
    let peer: String
    let peerIP: String

    var remoteAddress: String { peer }
    var clientIP: String? { peerIP }
    func stop(description: String) {}
}

extension PublishRefusal.Kind {
    /// The SRT access-control reject reason of this refusal.
    var srtReason: SRTRejectReason {
        switch self {
        case .badRequest: return .badRequest
        case .unauthorized: return .unauthorized
        case .notFound: return .notFound
        case .conflict: return .conflict
        case .unavailable: return .unavailable
        }
    }
}
