import Access
import Events
import Fanout
import Foundation
import Logging
import RTMP
import State

/// Decides who may publish and play: push signatures, one publisher per stream across every
/// protocol and node, play only of live streams. RTMP asks through `RTMPServerDelegate`; SRT's
/// admission asks the same publish path (`admitPublish`, then `startPublish`) with its own
/// `PublishingConnection`, so both protocols share one lock, one lifecycle and one set of rules.
struct IngestPolicy: RTMPServerDelegate {
    let environment: IngestEnvironment
    /// `rtmp` or `rtmps`: the listener this policy answers for, as admission hooks are told.
    var protocolName = "rtmp"

    func authorizePublish(_ request: StreamRequest, connection: RTMPConnection) async -> RTMPPublishAnswer {
        let attempt = PublishAttempt(name: request.name, app: request.app, query: request.query,
                                     protocolName: protocolName, connection: connection)
        switch await admitPublish(attempt) {
        case .failure(let refusal): return .reject(code: refusal.code(for: protocolName), description: refusal.reason)
        case .success(let grant): return .accept(await startPublish(grant, connection: connection))
        }
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

    /// Where the stream's segments are cut: at its channel's HLS segment duration (the default
    /// for streams without a channel, or when the store does not answer).
    func cutRules(for stream: StreamID) async -> SegmentCutter.Rules {
        guard let id = ChannelID(stream.rawValue), let channel = try? await environment.channels.channel(id) else { return .init() }
        return SegmentCutter.Rules(segmentSeconds: channel.hls.segmentSeconds)
    }

    /// The secret a push to `name` must be signed with: its channel's, if it names an enabled,
    /// unexpired channel; the global one in compatibility mode; otherwise a refusal.
    func pushSecret(for stream: StreamID) async -> Result<String, PublishRefusal> {
        let unauthorized = "NetStream.Publish.Unauthorized"
        if let id = stream.channelID {
            do {
                if let channel = try await environment.channels.channel(id) {
                    guard channel.enabled else {
                        return .failure(PublishRefusal(kind: .notFound, code: unauthorized, reason: "Channel is disabled."))
                    }
                    if let expiry = channel.expiresAt, expiry <= environment.now() {
                        return .failure(PublishRefusal(kind: .notFound, code: unauthorized, reason: "Channel has expired."))
                    }
                    if let secret = try await environment.channels.pushSecret(of: id) { return .success(secret) }
                }
            } catch {
                environment.logger.error("channel store failed", metadata: ["error": "\(error)"])
                return .failure(PublishRefusal(kind: .unavailable, code: unauthorized, reason: "Channel store unavailable."))
            }
        }
        if let global = environment.configuration.pushSecret { return .success(global) }
        return .failure(PublishRefusal(kind: .notFound, code: "NetStream.Publish.BadName", reason: "Unknown channel."))
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
