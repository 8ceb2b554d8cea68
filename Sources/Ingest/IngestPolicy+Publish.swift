import Access
import Events
import Foundation
import Logging
import State

/// A publish that passed every check and holds the stream's cluster-wide publish lock, not
/// started yet: `startPublish` turns it into a live session, `abandon` gives the lock back (an
/// SRT caller admitted during its handshake that never completed it).
struct PublishGrant: Sendable {
    var streamID: StreamID
    var sessionID: UInt64
    /// `{node}/{session}`: the lock's value.
    var lockOwner: String
    /// The push secret the publish was signed with, for revalidation.
    var secret: String
    var key: StreamKey
    var protocolName: String
}

/// The one publish path of every protocol.
extension IngestPolicy {
    /// Every check a publish passes, in order: canonical `StreamID`, the channel's push secret,
    /// `PushSignature` over `/{app}/{id}`, the admission hook, bus availability, then the
    /// cluster-wide publish lock in session state. A refusal is logged and announced
    /// (`publish.rejected`) here.
    func admitPublish(_ attempt: PublishAttempt) async -> Result<PublishGrant, PublishRefusal> {
        let key = attempt.key
        guard let id = StreamID(attempt.name) else {
            return refuse(attempt, .badRequest, "NetStream.Publish.BadName", "Invalid stream id.")
        }
        // From here on only the canonical id is used (a channel's UUID in lowercase), so the
        // channel's secret, admission hook and relays all apply however the encoder spelled it.
        let secret: String
        switch await pushSecret(for: id) {
        case .success(let found): secret = found
        case .failure(let refusal): return refuse(attempt, refusal)
        }
        do {
            try PushSignature(secret: secret).verify(key.sign, path: "/\(attempt.app)/\(id)", now: environment.now())
        } catch {
            return refuse(attempt, .unauthorized, "NetStream.Publish.Unauthorized", error.message)
        }
        let admission = await environment.access.authorizePublish(
            stream: id.rawValue, protocol: attempt.protocolName, query: attempt.query,
            clientIP: attempt.connection.clientIP)
        if case .deny(let code, let reason) = admission {
            return refuse(attempt, code == "unavailable" ? .unavailable : .unauthorized, "NetStream.Publish.Unauthorized", reason)
        }
        return await lock(id, secret: secret, attempt)
    }

    /// The last checks, bus and session state, and the publish lock.
    private func lock(_ id: StreamID, secret: String, _ attempt: PublishAttempt) async -> Result<PublishGrant, PublishRefusal> {
        let key = attempt.key
        if let outage = environment.bus.unavailability {
            environment.logger.error("publish refused: event bus unavailable", metadata: ["key": "\(key)", "reason": "\(outage)"])
            return refuse(attempt, .unavailable, "NetStream.Publish.Failed", "The event bus is unavailable (\(outage)); try again shortly.")
        }
        let sessionID = UInt64.random(in: 1...UInt64.max)
        let owner = "\(environment.configuration.nodeID)/\(sessionID)"
        let locked: Bool
        do {
            locked = try await environment.sessions.acquirePublishLock(id, owner: owner, ttl: environment.configuration.publishLockTTL)
        } catch {
            environment.logger.error("publish lock unavailable", metadata: ["key": "\(key)", "error": "\(error)"])
            return refuse(attempt, .unavailable, "NetStream.Publish.Failed", "Session state is unavailable; try again shortly.")
        }
        guard locked else {
            return refuse(attempt, .conflict, "NetStream.Publish.BadName", "Stream \(id) is already being published.")
        }
        return .success(PublishGrant(streamID: id, sessionID: sessionID, lockOwner: owner, secret: secret, key: key,
                                     protocolName: attempt.protocolName))
    }

    /// Makes a granted publish live: its `StreamPublisher` (with the channel's cut rules and the
    /// stream's stored continuation), the live entry in session state, `stream.online`, the
    /// lock's renewal and the node's registry of publishers.
    func startPublish(_ grant: PublishGrant, connection: any PublishingConnection) async -> StreamPublisher {
        let id = grant.streamID
        let node = environment.configuration.nodeID
        let session = StreamSession(streamID: id, sessionID: grant.sessionID, node: node, startedAt: Date())
        let publisher = StreamPublisher(session: session, lockOwner: grant.lockOwner, environment: environment,
                                        connection: connection, cutRules: await cutRules(for: id),
                                        continuing: try? await environment.sessions.continuation(of: id), logger: environment.logger)
        try? await environment.sessions.markLive(session)
        environment.announce(.online(StreamOnline(streamID: id, sessionID: grant.sessionID, node: node,
                                                  client: connection.remoteAddress, protocolName: grant.protocolName)))
        publisher.startLockRenewal()
        environment.publishers.add(publisher, connection: connection, secret: grant.secret)
        environment.logger.info("stream online", metadata: ["key": "\(grant.key)", "peer": "\(connection.remoteAddress)"])
        return publisher
    }

    /// Gives back the lock of a grant that never started.
    func abandon(_ grant: PublishGrant) async {
        try? await environment.sessions.releasePublishLock(grant.streamID, owner: grant.lockOwner)
    }

    private func refuse(_ attempt: PublishAttempt, _ kind: PublishRefusal.Kind, _ code: String, _ reason: String)
        -> Result<PublishGrant, PublishRefusal> {
        refuse(attempt, PublishRefusal(kind: kind, code: code, reason: reason))
    }

    private func refuse(_ attempt: PublishAttempt, _ refusal: PublishRefusal) -> Result<PublishGrant, PublishRefusal> {
        let code = refusal.code(for: attempt.protocolName)
        let peer = attempt.connection.remoteAddress
        environment.logger.notice("publish refused", metadata: [
            "key": "\(attempt.key)", "code": "\(code)", "reason": "\(refusal.reason)", "peer": "\(peer)",
        ])
        environment.announce(.publishRejected(PublishRejected(streamID: attempt.name, code: code, reason: refusal.reason,
                                                              client: peer)))
        return .failure(refusal)
    }
}
