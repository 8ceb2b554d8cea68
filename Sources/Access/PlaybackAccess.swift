import Events
import Foundation
import Logging
import State

/// Decides whether a publish or play may go ahead, beyond push signatures: signed play URLs for
/// channels with `playback.signedUrls`, and the admission hook (the channel's own, or the
/// global one). One instance serves every protocol of a node; channel settings are cached for
/// `policyCacheSeconds`, so checking a token per segment costs one HMAC, not a store lookup.
public final class PlaybackAccess: Sendable {
    private struct ChannelPolicy: Sendable {
        var channel: ChannelID?
        /// Set when the channel requires signed play URLs.
        var token: PlayToken?
        var hookURL: URL?
    }

    private let channels: any ChannelStore
    private let configuration: AccessConfiguration
    private let hook: AdmissionHook
    private let policies = ExpiringCache<String, ChannelPolicy>()
    private let now: @Sendable () -> Date
    private let logger: Logger

    public init(channels: any ChannelStore, configuration: AccessConfiguration = .init(),
                now: @escaping @Sendable () -> Date = { Date() }, logger: Logger) {
        self.channels = channels
        self.configuration = configuration
        self.hook = AdmissionHook(configuration: configuration, logger: logger)
        self.now = now
        self.logger = logger
    }

    /// Checks a play request: the signed URL where the channel asks for one, then (with
    /// `askHook`) the admission hook. Segments and parts of a session already admitted by its
    /// playlist pass `askHook: false`.
    public func authorizePlay(stream: String, protocol: String, query: [String: String], clientIP: String?,
                              askHook: Bool = true) async -> AccessDecision {
        let policy: ChannelPolicy
        do {
            policy = try await self.policy(for: stream)
        } catch {
            return error.decision
        }
        if let token = policy.token {
            do {
                try token.verify(expires: query["expires"], token: query["token"], prefix: PlayToken.prefix(of: stream),
                                 clientIP: clientIP, now: now())
            } catch {
                return .deny(code: "forbidden", reason: error.message)
            }
        }
        guard askHook, let url = policy.hookURL else { return .allow }
        let request = AdmissionRequest(action: .play, protocol: `protocol`, channel: policy.channel?.description,
                                       stream: stream, clientIP: clientIP, query: query)
        return await hook.ask(request, at: url, now: now())
    }

    /// Asks the admission hook about a publish whose push signature has already been checked.
    public func authorizePublish(stream: String, protocol: String, query: [String: String],
                                 clientIP: String?) async -> AccessDecision {
        let policy: ChannelPolicy
        do {
            policy = try await self.policy(for: stream)
        } catch {
            return error.decision
        }
        guard let url = policy.hookURL else { return .allow }
        let request = AdmissionRequest(action: .publish, protocol: `protocol`, channel: policy.channel?.description,
                                       stream: stream, clientIP: clientIP, query: query)
        return await hook.ask(request, at: url, now: now())
    }

    private struct Refusal: Error {
        var decision: AccessDecision
    }

    /// The stream's channel settings: cached, and failing closed when the store fails.
    private func policy(for stream: String) async throws(Refusal) -> ChannelPolicy {
        let instant = now()
        if let cached = policies.value(for: stream, now: instant) { return cached }
        var policy = ChannelPolicy(channel: nil, token: nil, hookURL: configuration.admissionURL)
        if let id = ChannelID(stream), id.description == stream {
            do {
                if let channel = try await channels.channel(id) {
                    policy.channel = id
                    if let own = channel.admissionURL.flatMap(URL.init(string:)) { policy.hookURL = own }
                    if channel.playback.signedUrls {
                        guard let secret = try await channels.pushSecret(of: id) else {
                            throw Refusal(decision: .deny(code: "forbidden", reason: "The channel has no secret to check tokens with."))
                        }
                        policy.token = PlayToken(pushSecret: secret)
                    }
                }
            } catch {
                logger.error("channel store failed during an access check", metadata: ["stream": "\(stream)", "error": "\(error)"])
                throw Refusal(decision: .deny(code: "unavailable", reason: "The channel store is unavailable."))
            }
        }
        policies.store(policy, for: stream, lifetime: configuration.policyCacheSeconds, now: instant)
        return policy
    }
}
