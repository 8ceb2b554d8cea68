import Access
import Events
import Foundation
import Media
import NIOCore
import NIOHTTP1
import State

/// `/api/v1/channels…`: create, read, list, change and delete channels, hand out their push and
/// play URLs, rotate their push secrets. Authentication and the route's scope check happen
/// before this is reached; the caller's scope only decides what is shown: channels reach
/// non-admin keys `redacted` (relay, webhook and admission URLs), and a redacted URL sent back
/// keeps the stored one.
public struct ChannelsAPI: Sendable {
    let store: any ChannelStore
    /// Asked per request: the bases are known only once the listeners are bound.
    let bases: @Sendable () -> URLBases
    let now: @Sendable () -> Date
    let makeSecret: @Sendable () -> String
    /// Told every change after it is stored, always redacted (the composition puts it on
    /// `sluice.channels`, which every worker and the audit trail read).
    let announce: @Sendable (ChannelChange) -> Void
    /// Told when a change ended the rules a channel's viewers were admitted under
    /// (`viewersMustGo`, a deletion, a rotated secret of a signed channel): the composition sends
    /// `viewers.drop`, so every node that holds viewers of the stream drops them, and they are
    /// admitted again under the new rules (or refused).
    let playbackRulesChanged: @Sendable (StreamID) -> Void
    /// Where webhooks, admission hooks and relays may point (`--allow-destination`).
    let destinations: DestinationPolicy
    /// Session state, for the `health` of live channels; nil: none shown.
    let sessions: (any SessionStore)?
    /// The events timeline this node keeps (`ChannelTimelineFeed`); nil: the route answers 503.
    let timeline: ChannelTimeline?

    public init(store: any ChannelStore, urls: @escaping @Sendable () -> URLBases,
                now: @escaping @Sendable () -> Date = { Date() },
                makeSecret: @escaping @Sendable () -> String = ChannelsAPI.randomSecret,
                destinations: DestinationPolicy = .init(),
                sessions: (any SessionStore)? = nil, timeline: ChannelTimelineFeed? = nil,
                announce: @escaping @Sendable (ChannelChange) -> Void = { _ in },
                playbackRulesChanged: @escaping @Sendable (StreamID) -> Void = { _ in }) {
        self.sessions = sessions
        self.timeline = timeline?.timeline
        self.playbackRulesChanged = playbackRulesChanged
        self.destinations = destinations
        self.store = store
        self.bases = urls
        // Every route that deletes a channel (this API's and the seed's) announces it, so the
        // drop rides on the announcement and no route can forget it: the stream's viewers were
        // admitted under rules that are gone (without a channel a stream plays unsigned).
        self.announce = { change in
            announce(change.redacted)
            if case .deleted(let gone) = change, let stream = StreamID(gone.id.description) { playbackRulesChanged(stream) }
        }
        self.now = now
        self.makeSecret = makeSecret
    }

    public static func randomSecret() -> String {
        Hex.random(byteCount: 16)
    }

    /// `/api/v1/channels`: list and create, for a caller with `scope`.
    func answer(_ endpoint: APIEndpoint.Channels, _ request: APIRequest, scope: APIKeyScope) async -> APIResponse {
        await Self.answering {
            switch endpoint {
            case .list: return try await list(request, scope: scope)
            case .create: return try await create(request, scope: scope)
            }
        }
    }

    /// The routes of the channel `name` names, for a caller with `scope`.
    func answer(_ endpoint: APIEndpoint.Channel, of name: String, _ request: APIRequest,
                scope: APIKeyScope) async -> APIResponse {
        await Self.answering {
            guard let id = ChannelID(name) else { throw Self.notFound(name) }
            switch endpoint {
            case .show: return try await show(id, scope: scope)
            case .change: return try await change(id, request, replacing: false, scope: scope)
            case .replace: return try await change(id, request, replacing: true, scope: scope)
            case .delete: return try await delete(id, request)
            case .pushURL: return try await pushURL(id, request)
            case .events: return try await events(id, request)
            case .playURLs: return .json(playURLs(of: try await existing(id)))
            case .signPlayURLs: return try await signedPlayURLs(id, request)
            case .rotateSecret: return try await rotate(id, scope: scope)
            case .setWatermarkImage: return try await setWatermarkImage(id, request, scope: scope)
            case .watermarkImage: return try await watermarkImage(id)
            case .removeWatermarkImage: return try await removeWatermarkImage(id)
            }
        }
    }

    /// Answers a request under `/api/v1/channels` or `/videostream` as the router does once
    /// the key is checked, for callers that hold no router; other paths are a 404.
    public func handle(_ request: APIRequest, scope: APIKeyScope) async -> APIResponse {
        let call: APICall
        switch APIRoutes.match(request.method, request.path) {
        case .success(let found): call = found
        case .failure(let error): return .error(error)
        }
        switch call.route.endpoint {
        case .channels(let endpoint): return await answer(endpoint, request, scope: scope)
        case .channel(let endpoint): return await answer(endpoint, of: call.id, request, scope: scope)
        case .seeds(let endpoint): return await answerSeeds(endpoint, request, scope: scope)
        case .seed(let endpoint): return await answerSeed(endpoint, of: call.id, request, scope: scope)
        default: return .error(APIError(.notFound, code: "not_found", message: "No such channel resource."))
        }
    }

    /// A channel as a caller with `scope` sees it: whole for admin keys, else redacted.
    static func shown(_ channel: StreamChannel, to scope: APIKeyScope) -> StreamChannel {
        scope == .admin ? channel : channel.redacted
    }

    /// Runs a handler, turning what it throws into the one error shape.
    static func answering(_ handler: () async throws -> APIResponse) async -> APIResponse {
        do {
            return try await handler()
        } catch let error as APIError {
            return .error(error)
        } catch let error as StateError {
            return .error(Self.apiError(error))
        } catch {
            return .error(.internal(error))
        }
    }

    // MARK: Routes

    private func list(_ request: APIRequest, scope: APIKeyScope) async throws -> APIResponse {
        let limit = Int(request.query["limit"] ?? "50") ?? -1
        guard (1...500).contains(limit) else {
            throw APIError(.badRequest, code: "invalid_query", message: "limit must be 1–500.",
                           fields: [FieldError("limit", "must be 1–500")])
        }
        let page = try await store.list(nameContains: request.query["name"], limit: limit, after: request.query["after"])
        let live = Set(((try? await sessions?.liveSessions()) ?? []).map(\.streamID.rawValue))
        var items: [ListedChannel] = []
        for channel in page.channels {
            let health = live.contains(channel.streamName) ? await health(of: channel) : nil
            items.append(ListedChannel(channel: Self.shown(channel, to: scope), health: health))
        }
        return .json(ChannelList(items: items, next: page.next))
    }

    private func create(_ request: APIRequest, scope: APIKeyScope) async throws -> APIResponse {
        try requireJSON(request)
        let patch = try ChannelJSON.parseObject(request.body)
        let base = StreamChannel(name: "", createdAt: now())
        let applied = try ChannelJSON.apply(patch, to: base)
        try checkDestinations(of: applied)
        let channel = try await store.create(applied, pushSecret: makeSecret())
        announce(.created(channel))
        return .json(Self.shown(channel, to: scope), status: .created, headers: ["ETag": Self.etag(channel),
                                                           "Location": "/api/v1/channels/\(channel.streamName)"])
    }

    private func show(_ id: ChannelID, scope: APIKeyScope) async throws -> APIResponse {
        let channel = try await existing(id)
        return .json(Self.shown(channel, to: scope), headers: ["ETag": Self.etag(channel)])
    }

    private func change(_ id: ChannelID, _ request: APIRequest, replacing: Bool, scope: APIKeyScope) async throws -> APIResponse {
        try requireJSON(request)
        let patch = try ChannelJSON.parseObject(request.body)
        let current = try await existing(id)
        var base = current
        if replacing {
            base = StreamChannel(id: current.id, name: "", createdAt: current.createdAt, revision: current.revision)
        }
        let changed = try ChannelJSON.apply(patch, to: base, stored: current)
        try checkDestinations(of: changed)
        let stored = try await store.update(changed, ifRevision: try Self.ifMatch(request) ?? current.revision)
        announce(.updated(stored))
        if Self.viewersMustGo(before: current, after: stored, now: now()), let stream = StreamID(stored.streamName) {
            playbackRulesChanged(stream)
        }
        return .json(Self.shown(stored, to: scope), headers: ["ETag": Self.etag(stored)])
    }

    private func delete(_ id: ChannelID, _ request: APIRequest) async throws -> APIResponse {
        let revision = try Self.ifMatch(request)
        try await store.delete(id, ifRevision: revision)
        announce(.deleted(ChannelDeleted(id: id, revision: revision)))
        return APIResponse(status: .noContent)
    }

    private func rotate(_ id: ChannelID, scope: APIKeyScope) async throws -> APIResponse {
        let channel = try await store.rotatePushSecret(of: id, to: makeSecret())
        announce(.updated(channel))
        // Signed play URLs are signed with the secret: the old ones no longer admit anybody.
        if channel.playback.signedUrls, let stream = StreamID(channel.streamName) { playbackRulesChanged(stream) }
        return .json(Self.shown(channel, to: scope), headers: ["ETag": Self.etag(channel)])
    }

    /// Whether a change ends what the channel's viewers were admitted under: other playback
    /// rules (signed URLs, the admission hook), or a channel that no longer takes a stream
    /// (disabled, or its expiry moved into the past; its publisher is stopped too).
    static func viewersMustGo(before: StreamChannel, after: StreamChannel, now: Date) -> Bool {
        func open(_ channel: StreamChannel) -> Bool { channel.enabled && (channel.expiresAt.map { $0 > now } ?? true) }
        return after.playbackRulesDiffer(from: before) || (open(before) && !open(after))
    }

    // MARK: Destination policy

    /// A 400 naming each URL field whose host the destination policy refuses as written.
    func checkDestinations(of channel: StreamChannel) throws(APIError) {
        let refused = channel.destinationErrors(policy: destinations)
        guard refused.isEmpty else {
            throw APIError(.badRequest, code: "invalid_fields", message: "Some destinations are refused by the destination policy.",
                           fields: refused)
        }
    }

    // MARK: Helpers

    func existing(_ id: ChannelID) async throws -> StreamChannel {
        guard let channel = try await store.channel(id) else { throw Self.notFound(id) }
        return channel
    }

    /// A small JSON request body that may be left out: nil without one, 400 when it does not decode.
    func optionalBody<Body: Decodable>(_ type: Body.Type, _ request: APIRequest,
                                               expecting shape: String) throws(APIError) -> Body? {
        guard let body = request.body, body.readableBytes > 0 else { return nil }
        try requireJSON(request)
        do {
            return try ChannelJSON.decoder.decode(type, from: Data(body.readableBytesView))
        } catch {
            throw APIError(.badRequest, code: "invalid_json", message: "Expected \(shape).")
        }
    }

    func requireJSON(_ request: APIRequest) throws(APIError) {
        let type = request.headers.first(name: "Content-Type")?.lowercased() ?? ""
        guard type.hasPrefix("application/json") else {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type",
                           message: "Send the body as application/json.")
        }
    }

    static func etag(_ channel: StreamChannel) -> String { "\"\(channel.revision)\"" }

    /// The revision an `If-Match` names; `nil` without one or for `*`.
    static func ifMatch(_ request: APIRequest) throws(APIError) -> Int? {
        guard let value = request.headers.first(name: "If-Match"), value != "*" else { return nil }
        guard let revision = Int(value.trimmingCharacters(in: CharacterSet(charactersIn: "\" W/"))) else {
            throw APIError(.preconditionFailed, code: "stale_revision", message: "If-Match names no revision of this channel.")
        }
        return revision
    }

    /// A 404 naming the channel as the path named it (a name that is no channel id, too).
    static func notFound(_ id: some CustomStringConvertible) -> APIError {
        APIError(.notFound, code: "channel_not_found", message: "No channel '\(id)'.")
    }

    static func apiError(_ error: StateError) -> APIError {
        switch error.code {
        case .notFound: return APIError(.notFound, code: "channel_not_found", message: error.context)
        case .staleRevision: return APIError(.preconditionFailed, code: "stale_revision", message: error.context)
        case .conflict: return APIError(.conflict, code: "conflict", message: error.context)
        case .invalid: return APIError(.badRequest, code: "invalid_fields", message: error.context)
        case .storage: return .unavailable("The store failed", error)
        }
    }
}

struct ChannelList: Encodable {
    var items: [ListedChannel]
    var next: String?
}

/// A channel as the list shows it: its fields, and for a live one the `health` of its stream.
struct ListedChannel: Encodable {
    var channel: StreamChannel
    /// The live stream's warnings (empty when nothing is wrong); left out when not live.
    var health: [HealthWarning]?

    func encode(to encoder: any Encoder) throws {
        try channel.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encodeIfPresent(health, forKey: .health)
    }

    private enum Key: String, CodingKey { case health }
}
