import Events
import Foundation
import Logging
import Media
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
        /// Signs and checks admission tickets of the stream's viewers.
        var tickets: AdmissionTicket
    }

    private let channels: any ChannelStore
    private let configuration: AccessConfiguration
    private let hook: AdmissionHook
    private let policies = ExpiringCache<String, ChannelPolicy>()
    private let now: @Sendable () -> Date
    private let logger: Logger
    /// Tickets of streams without a channel.
    private let nodeTickets: AdmissionTicket

    /// - Parameter ticketSecret: signs the admission tickets of streams without a channel (the
    ///   channels' own are derived from their push secrets); nodes that serve the same viewers
    ///   must share it. Default: a random one, good for one node.
    public init(channels: any ChannelStore, configuration: AccessConfiguration = .init(), ticketSecret: String? = nil,
                now: @escaping @Sendable () -> Date = { Date() }, logger: Logger) {
        self.channels = channels
        self.configuration = configuration
        self.nodeTickets = AdmissionTicket(secret: ticketSecret ?? Hex.random(byteCount: 32))
        self.hook = AdmissionHook(configuration: configuration, logger: logger)
        self.now = now
        self.logger = logger
    }

    /// Forgets what is cached of `stream`'s channel and of the hook's answers for it, so the
    /// next request is checked against the rules as they are now. A `viewers.drop` does this on
    /// every node: a dropped viewer that comes straight back is not let in under the old rules.
    public func forget(stream: String) {
        policies.removeAll { $0 == stream }
        hook.forget(stream: stream)
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
        guard askHook else { return .allow }
        return await hookAnswer(policy, play: stream, protocol: `protocol`, query: query, clientIP: clientIP)
    }

    /// The hook's answer to a play whose signed URL (if the channel has one) was checked.
    private func hookAnswer(_ policy: ChannelPolicy, play stream: String, protocol name: String, query: [String: String],
                            clientIP: String?) async -> AccessDecision {
        guard let url = policy.hookURL else { return .allow }
        let request = AdmissionRequest(action: .play, protocol: name, channel: policy.channel?.description,
                                       stream: stream, clientIP: clientIP, query: query)
        return await hook.ask(request, at: url, now: now())
    }

    /// Admits one HTTP request of a viewing. A `.start` request (HTTP-FLV, a snapshot) passes the
    /// signed URL and the hook each time. A `.playlist` request carrying a live admission ticket
    /// passes at once; without one (or with one near its end) it passes the full check and, where
    /// a hook decides, is sent back with a fresh ticket (`.redirect`) so every URL the player
    /// uses from then on carries it. A `.follower` (segment, part, init segment, VOD file) needs
    /// the ticket where a hook decides and the signed URL where the channel signs playback: a
    /// client that was not admitted gets none of it, whatever its query says.
    public func admit(stream: String, protocol name: String, kind: PlayRequestKind, query: [String: String],
                      clientIP: String?) async -> PlayAdmission {
        let policy: ChannelPolicy
        do {
            policy = try await self.policy(for: stream)
        } catch {
            return .deny(code: error.decision.code, reason: error.decision.reason)
        }
        let instant = now()
        switch Self.decide(policy, stream: stream, protocol: name, kind: kind, query: query, clientIP: clientIP, now: instant) {
        case .decided(let admission):
            return admission
        case .askHook(let scope, let signedUntil):
            var asked = query
            asked[AdmissionTicket.parameter] = nil
            switch await hookAnswer(policy, play: stream, protocol: name, query: asked, clientIP: clientIP) {
            case .deny(let code, let reason):
                return .deny(code: code, reason: reason)
            case .allow where kind == .start:
                return .allow(ticket: nil)
            case .allow:
                return .redirect(ticket: policy.tickets.issue(stream: stream, scope: scope, clientIP: clientIP, now: instant,
                                                              notAfter: signedUntil))
            }
        }
    }

    /// `admit`'s answer when it needs no waiting: the stream's rules are cached and no hook has
    /// to be asked (the hook is not on, or a ticket it issued answers for it). Nil otherwise.
    /// Thousands of LL-HLS players reload their playlists twice a second; this spares each
    /// reload a task and two thread hand-overs.
    public func admitNow(stream: String, protocol name: String, kind: PlayRequestKind, query: [String: String],
                         clientIP: String?) -> PlayAdmission? {
        let instant = now()
        guard let policy = policies.value(for: stream, now: instant),
              case .decided(let admission) = Self.decide(policy, stream: stream, protocol: name, kind: kind, query: query,
                                                         clientIP: clientIP, now: instant)
        else { return nil }
        return admission
    }

    /// Where `admit` stands once the stream's rules are known.
    private enum Step {
        case decided(PlayAdmission)
        /// The hook decides; a playlist it admits gets a ticket for `scope`, lasting no longer
        /// than the signed URL (`signedUntil`, Unix seconds) where there is one.
        case askHook(scope: AdmissionTicket.Scope, signedUntil: Int64?)
    }

    private static func decide(_ policy: ChannelPolicy, stream: String, protocol name: String, kind: PlayRequestKind,
                               query: [String: String], clientIP: String?, now instant: Date) -> Step {
        let scope: AdmissionTicket.Scope = name == "vod" ? .vod : .live
        // A signed URL's expiry bounds what it admitted: a ticket is renewed only when a new one
        // would last longer.
        let signedUntil = policy.token == nil ? nil : query["expires"].flatMap { Int64($0) }
        let seconds = Int64(instant.timeIntervalSince1970.rounded(.down))
        func renewable(left: Int64) -> Bool { signedUntil.map { $0 > seconds + left } ?? true }
        let ticketLeft = policy.tickets.remaining(query[AdmissionTicket.parameter], stream: stream, scope: scope,
                                                  clientIP: clientIP, now: instant)
        guard policy.hookURL != nil else {
            // No hook: the signed URL, where there is one, is the admission record itself.
            return .decided(refusal(of: policy.token, query: query, stream: stream, clientIP: clientIP, now: instant)
                ?? .allow(ticket: nil))
        }
        switch kind {
        case .follower:
            guard let ticket = query[AdmissionTicket.parameter], ticketLeft != nil else {
                return .decided(.deny(code: "forbidden",
                                      reason: "This request needs the admission ticket of a playlist (adm); load the playlist again."))
            }
            return .decided(.allow(ticket: ticket))
        case .playlist where ticketLeft.map({ $0 >= AdmissionTicket.renewalMargin || !renewable(left: $0) }) ?? false:
            return .decided(.allow(ticket: query[AdmissionTicket.parameter]))
        case .playlist, .start:
            if let refusal = refusal(of: policy.token, query: query, stream: stream, clientIP: clientIP, now: instant) {
                return .decided(refusal)
            }
            return .askHook(scope: scope, signedUntil: signedUntil)
        }
    }

    /// The denial a missing, malformed, expired or foreign signed URL gets; nil when `token` is
    /// nil (the channel does not sign playback) or the URL's signature holds.
    private static func refusal(of token: PlayToken?, query: [String: String], stream: String, clientIP: String?,
                                now: Date) -> PlayAdmission? {
        guard let token else { return nil }
        do {
            try token.verify(expires: query["expires"], token: query["token"], prefix: PlayToken.prefix(of: stream),
                             clientIP: clientIP, now: now)
            return nil
        } catch {
            return .deny(code: "forbidden", reason: error.message)
        }
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

    struct Refusal: Error {
        var decision: AccessDecision
    }

    /// The stream's channel settings: cached, and failing closed when the store fails.
    private func policy(for stream: String) async throws(Refusal) -> ChannelPolicy {
        let instant = now()
        if let cached = policies.value(for: stream, now: instant) { return cached }
        var policy = ChannelPolicy(channel: nil, token: nil, hookURL: configuration.admissionURL, tickets: nodeTickets)
        if let id = ChannelID(stream), id.description == stream {
            do {
                if let channel = try await channels.channel(id) {
                    policy.channel = id
                    if let own = channel.admissionURL.flatMap(URL.init(string:)) { policy.hookURL = own }
                    let secret = try await channels.pushSecret(of: id)
                    if let secret { policy.tickets = AdmissionTicket(secret: secret) }
                    if channel.playback.signedUrls {
                        guard let secret else {
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

/// Where a request stands in a viewing, for `PlaybackAccess.admit`.
public enum PlayRequestKind: Sendable, Hashable {
    /// A request that is a viewing of its own: HTTP-FLV, a snapshot.
    case start
    /// A playlist or manifest: where a viewing starts, and what it reloads.
    case playlist
    /// What a playlist lists: segments, parts, init segments, VOD files.
    case follower
}

/// What `PlaybackAccess.admit` answered.
public enum PlayAdmission: Sendable, Hashable {
    /// Go ahead; `ticket` is the admission ticket to carry on to the URIs a playlist lists.
    case allow(ticket: String?)
    /// Admitted: the same request again with `adm={ticket}` (a playlist without a ticket).
    case redirect(ticket: String)
    case deny(code: String, reason: String)
}

extension AccessDecision {
    var code: String {
        if case .deny(let code, _) = self { return code }
        return ""
    }

    var reason: String {
        if case .deny(_, let reason) = self { return reason }
        return ""
    }
}
