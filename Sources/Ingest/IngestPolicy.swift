import Access
import Events
import Fanout
import Foundation
import Logging
import RTMP
import State

/// Decides who may publish and play over RTMP: push signatures, one publisher per stream,
/// play only of live streams.
struct IngestPolicy: RTMPServerDelegate {
    let environment: IngestEnvironment
    /// `rtmp` or `rtmps`: the listener this policy answers for, as admission hooks are told.
    var protocolName = "rtmp"

    func authorizePublish(_ request: StreamRequest, connection: RTMPConnection) async -> RTMPPublishAnswer {
        let key = StreamKey(name: request.name, sign: request.query["sign"])
        guard let id = StreamID(request.name) else {
            return reject(key, connection, code: "NetStream.Publish.BadName", "Invalid stream id.")
        }
        // From here on only the canonical id is used (a channel's UUID in lowercase), so the
        // channel's secret, admission hook and relays all apply however the encoder spelled it.
        let secret: String
        switch await pushSecret(for: id) {
        case .success(let found): secret = found
        case .failure(let refusal): return reject(key, connection, code: refusal.code, refusal.reason)
        }
        do {
            try PushSignature(secret: secret).verify(key.sign, path: "/\(request.app)/\(id)",
                                                     now: environment.now())
        } catch {
            return reject(key, connection, code: "NetStream.Publish.Unauthorized", error.message)
        }
        let admission = await environment.access.authorizePublish(
            stream: id.rawValue, protocol: protocolName, query: request.query,
            clientIP: connection.clientIP)
        if case .deny(_, let reason) = admission {
            return reject(key, connection, code: "NetStream.Publish.Unauthorized", reason)
        }
        if let outage = environment.bus.unavailability {
            environment.logger.error("publish refused: event bus unavailable", metadata: ["key": "\(key)", "reason": "\(outage)"])
            return reject(key, connection, code: "NetStream.Publish.Failed", "The event bus is unavailable (\(outage)); try again shortly.")
        }
        let sessionID = UInt64.random(in: 1...UInt64.max)
        let owner = "\(environment.configuration.nodeID)/\(sessionID)"
        let ttl = environment.configuration.publishLockTTL
        let locked: Bool
        do {
            locked = try await environment.sessions.acquirePublishLock(id, owner: owner, ttl: ttl)
        } catch {
            environment.logger.error("publish lock unavailable", metadata: ["key": "\(key)", "error": "\(error)"])
            return reject(key, connection, code: "NetStream.Publish.Failed", "Session state is unavailable; try again shortly.")
        }
        guard locked else {
            return reject(key, connection, code: "NetStream.Publish.BadName", "Stream \(id) is already being published.")
        }
        let session = StreamSession(streamID: id, sessionID: sessionID, node: environment.configuration.nodeID,
                                    startedAt: Date())
        let publisher = StreamPublisher(session: session, lockOwner: owner, environment: environment,
                                        connection: connection, cutRules: await cutRules(for: id),
                                        continuing: try? await environment.sessions.continuation(of: id), logger: environment.logger)
        try? await environment.sessions.markLive(session)
        environment.announce(.online(StreamOnline(streamID: id, sessionID: sessionID,
                                                  node: environment.configuration.nodeID,
                                                  client: connection.remoteAddress, protocolName: protocolName)))
        publisher.startLockRenewal()
        environment.publishers.add(publisher, connection: connection, secret: secret)
        environment.logger.info("stream online", metadata: ["key": "\(key)", "peer": "\(connection.remoteAddress)"])
        return .accept(publisher)
    }

    func authorizePlay(_ request: StreamRequest, connection: RTMPConnection) async -> RTMPPlayAnswer {
        guard let id = StreamID(request.name) else {
            return .reject(code: "NetStream.Play.StreamNotFound", description: "No live stream '\(request.name)'.")
        }
        // Admitted first: a refused viewer must not make a cluster node start reading the stream.
        let admission = await environment.access.authorizePlay(
            stream: id.rawValue, protocol: protocolName, query: request.query,
            clientIP: connection.clientIP)
        if case .deny(let code, let reason) = admission {
            environment.logger.notice("play refused", metadata: [
                "stream": "\(id)", "code": "\(code)", "reason": "\(reason)", "peer": "\(connection.remoteAddress)",
            ])
            return .reject(code: "NetStream.Play.Failed", description: reason)
        }
        guard let fanout = await environment.hub.fanout(opening: id) else {
            return .reject(code: "NetStream.Play.StreamNotFound", description: "No live stream '\(id)'.")
        }
        return .accept(RTMPViewerSink(fanout: fanout, connection: connection))
    }

    struct Refusal: Error {
        var code: String
        var reason: String
        /// The channel store did not answer: the same question may pass later.
        var isOutage = false
    }

    /// The secret a push to `name` must be signed with: its channel's, if it names an enabled,
    /// unexpired channel; the global one in compatibility mode; otherwise a refusal.
    /// Where the stream's segments are cut: at its channel's HLS segment duration (the default
    /// for streams without a channel, or when the store does not answer).
    func cutRules(for stream: StreamID) async -> SegmentCutter.Rules {
        guard let id = ChannelID(stream.rawValue), let channel = try? await environment.channels.channel(id) else { return .init() }
        return SegmentCutter.Rules(segmentSeconds: channel.hls.segmentSeconds)
    }

    func pushSecret(for stream: StreamID) async -> Result<String, Refusal> {
        let unauthorized = "NetStream.Publish.Unauthorized"
        if let id = stream.channelID {
            do {
                if let channel = try await environment.channels.channel(id) {
                    guard channel.enabled else { return .failure(Refusal(code: unauthorized, reason: "Channel is disabled.")) }
                    if let expiry = channel.expiresAt, expiry <= environment.now() {
                        return .failure(Refusal(code: unauthorized, reason: "Channel has expired."))
                    }
                    if let secret = try await environment.channels.pushSecret(of: id) { return .success(secret) }
                }
            } catch {
                environment.logger.error("channel store failed", metadata: ["error": "\(error)"])
                return .failure(Refusal(code: unauthorized, reason: "Channel store unavailable.", isOutage: true))
            }
        }
        if let global = environment.configuration.pushSecret { return .success(global) }
        return .failure(Refusal(code: "NetStream.Publish.BadName", reason: "Unknown channel."))
    }

    private func reject(_ key: StreamKey, _ connection: RTMPConnection, code: String, _ reason: String)
        -> RTMPPublishAnswer {
        environment.logger.notice("publish refused", metadata: [
            "key": "\(key)", "code": "\(code)", "reason": "\(reason)", "peer": "\(connection.remoteAddress)",
        ])
        environment.announce(.publishRejected(PublishRejected(streamID: key.name, code: code, reason: reason,
                                                              client: connection.remoteAddress)))
        return .reject(code: code, description: reason)
    }
}

extension PushSignature.Failure {
    var message: String {
        switch self {
        case .missing: return "Missing sign parameter."
        case .malformed: return "Malformed sign parameter."
        case .expired: return "Sign has expired."
        case .mismatch: return "Sign does not match."
        }
    }
}
