import Access
import Events
import Foundation
import Media
import NIOCore
import NIOHTTP1
import State

/// Where the URLs the API hands out point.
public struct URLBases: Sendable, Hashable {
    /// `rtmp://host:port` encoders push to.
    public var push: String
    /// `http://host:port` viewers play HTTP-FLV from.
    public var play: String
    /// `rtmp://host:port` viewers play RTMP from.
    public var rtmpPlay: String

    public init(push: String, play: String, rtmpPlay: String) {
        self.push = push
        self.play = play
        self.rtmpPlay = rtmpPlay
    }
}

extension URLBases {
    /// These bases with what the operator configured (`/api/v1/settings`) taking precedence.
    public func overridden(by settings: ServerSettings) -> URLBases {
        let trim = { (url: String) in url.hasSuffix("/") ? String(url.dropLast()) : url }
        return URLBases(push: settings.pushBaseURL.map(trim) ?? push, play: settings.playBaseURL.map(trim) ?? play,
                        rtmpPlay: settings.pushBaseURL.map(trim) ?? rtmpPlay)
    }
}

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

    public init(store: any ChannelStore, urls: @escaping @Sendable () -> URLBases,
                now: @escaping @Sendable () -> Date = { Date() },
                makeSecret: @escaping @Sendable () -> String = ChannelsAPI.randomSecret,
                destinations: DestinationPolicy = .init(),
                announce: @escaping @Sendable (ChannelChange) -> Void = { _ in },
                playbackRulesChanged: @escaping @Sendable (StreamID) -> Void = { _ in }) {
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

    /// Handles a request whose path starts `api/v1/channels`, for a caller with `scope`.
    public func handle(_ request: APIRequest, scope: APIKeyScope) async -> APIResponse {
        await Self.answering { try await route(request, scope: scope) }
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

    private func route(_ request: APIRequest, scope: APIKeyScope) async throws -> APIResponse {
        let rest = Array(request.path.dropFirst(3))
        switch (request.method, rest.count) {
        case (.GET, 0): return try await list(request, scope: scope)
        case (.POST, 0): return try await create(request, scope: scope)
        case (_, 0): throw Self.methodNotAllowed(request.method)
        default: break
        }
        guard let id = ChannelID(rest[0]) else {
            throw APIError(.notFound, code: "channel_not_found", message: "No channel '\(rest[0])'.")
        }
        switch (request.method, rest.count > 1 ? rest[1] : nil) {
        case (.GET, nil): return try await show(id, scope: scope)
        case (.PATCH, nil): return try await change(id, request, replacing: false, scope: scope)
        case (.PUT, nil): return try await change(id, request, replacing: true, scope: scope)
        case (.DELETE, nil): return try await delete(id, request)
        case (.POST, "push-url"): return try await pushURL(id, request)
        case (.GET, "play-urls"): return .json(playURLs(of: try await existing(id)))
        case (.POST, "play-url"): return try await signedPlayURLs(id, request)
        case (.POST, "rotate-secret"): return try await rotate(id, scope: scope)
        case (.PUT, "watermark-image"): return try await setWatermarkImage(id, request, scope: scope)
        case (.GET, "watermark-image"): return try await watermarkImage(id)
        case (.DELETE, "watermark-image"):
            let channel = try await store.setWatermarkImage(nil, of: id)
            announce(.updated(channel))
            return APIResponse(status: .noContent)
        case (_, nil), (_, "push-url"), (_, "play-urls"), (_, "play-url"), (_, "rotate-secret"), (_, "watermark-image"):
            throw Self.methodNotAllowed(request.method)
        default: throw APIError(.notFound, code: "not_found", message: "No such channel resource.")
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
        return .json(ChannelList(items: page.channels.map { Self.shown($0, to: scope) }, next: page.next))
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

    /// A push URL signed with the channel's secret: a credential, so its route needs read-write.
    private func pushURL(_ id: ChannelID, _ request: APIRequest) async throws -> APIResponse {
        let channel = try await existing(id)
        var expires = channel.expiresAt ?? now().addingTimeInterval(24 * 3600)
        if let asked = try optionalBody(PushURLRequest.self, request, expecting: "{expiresAt}, optional"),
           let wanted = asked.expiresAt {
            expires = min(wanted, channel.expiresAt ?? wanted)
        }
        guard expires > now() else {
            throw APIError(.conflict, code: "channel_expired", message: "The channel has expired.")
        }
        guard let secret = try await store.pushSecret(of: id) else { throw Self.notFound(id) }
        let name = channel.streamName
        let urls = bases()
        let sign = PushSignature(secret: secret).sign(path: "/stream/\(name)", expires: Int64(expires.timeIntervalSince1970))
        let url = "\(urls.push)/stream/\(name)?sign=\(sign)"
        return .json(PushURL(url: url, server: "\(urls.push)/stream", streamKey: "\(name)?sign=\(sign)",
                             expiresAt: expires, qrText: url))
    }

    /// The play URL of every enabled output, by output name.
    private func playURLs(of channel: StreamChannel) -> [String: String] {
        let name = channel.streamName
        let bases = bases()
        var urls: [String: String] = ["rtmp": "\(bases.rtmpPlay)/stream/\(name)"]
        if channel.outputs.flv { urls["flv"] = "\(bases.play)/\(name)/live.flv" }
        if channel.outputs.hls { urls["hls"] = "\(bases.play)/\(name)/live.m3u8" }
        if channel.outputs.llhls { urls["llhls"] = "\(bases.play)/\(name)/llhls.m3u8" }
        if channel.outputs.dash { urls["dash"] = "\(bases.play)/\(name)/manifest.mpd" }
        if channel.transcode.enabled {
            urls["abr"] = "\(bases.play)/\(name)/index.m3u8"
            for rendition in channel.transcode.renditions {
                urls["hls-\(rendition.rawValue)"] = "\(bases.play)/\(name)/\(rendition.rawValue)/index.m3u8"
                if channel.outputs.flv { urls["flv-\(rendition.rawValue)"] = "\(bases.play)/\(name)/\(rendition.rawValue)/live.flv" }
            }
        }
        return urls
    }

    /// Signed play URLs (`?expires=…&token=…`) for every enabled output; optionally bound to
    /// one client address. Issued for any channel; enforced for those with `playback.signedUrls`.
    /// A token opens a signed channel to whoever holds it, so minting one needs read-write: a
    /// dashboard's read-only key that could mint them would make the signature pointless.
    private func signedPlayURLs(_ id: ChannelID, _ request: APIRequest) async throws -> APIResponse {
        let channel = try await existing(id)
        let asked = try optionalBody(PlayURLRequest.self, request, expecting: "{ttlSeconds, clientIP}, both optional")
            ?? PlayURLRequest()
        let ttl = asked.ttlSeconds ?? 3600
        guard (1...31 * 86_400).contains(ttl) else {
            throw APIError(.badRequest, code: "invalid_field", message: "ttlSeconds must be 1–2678400.",
                           fields: [FieldError("ttlSeconds", "must be 1–2678400")])
        }
        if let ip = asked.clientIP, ip.isEmpty || ip.count > 64 || !ip.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == ":" }) {
            throw APIError(.badRequest, code: "invalid_field", message: "clientIP must be an IPv4 or IPv6 address.",
                           fields: [FieldError("clientIP", "must be an IPv4 or IPv6 address")])
        }
        guard let secret = try await store.pushSecret(of: id) else { throw Self.notFound(id) }
        let expires = Int64(now().timeIntervalSince1970) + Int64(ttl)
        let query = PlayToken(pushSecret: secret).query(prefix: PlayToken.prefix(of: channel.streamName),
                                                        expires: expires, clientIP: asked.clientIP)
        let urls = playURLs(of: channel).mapValues { "\($0)?\(query)" }
        return .json(PlayURL(urls: urls, query: query, expiresAt: Date(timeIntervalSince1970: TimeInterval(expires)),
                             clientIP: asked.clientIP))
    }

    private func rotate(_ id: ChannelID, scope: APIKeyScope) async throws -> APIResponse {
        let channel = try await store.rotatePushSecret(of: id, to: makeSecret())
        announce(.updated(channel))
        // Signed play URLs are signed with the secret: the old ones no longer admit anybody.
        if channel.playback.signedUrls, let stream = StreamID(channel.streamName) { playbackRulesChanged(stream) }
        return .json(Self.shown(channel, to: scope), headers: ["ETag": Self.etag(channel)])
    }

    /// Takes a PNG or JPEG as the request body (at most `APIRouter.maxBodySize`), known by its
    /// signature; the watermark draws it when `watermark.image.enabled`.
    private func setWatermarkImage(_ id: ChannelID, _ request: APIRequest, scope: APIKeyScope) async throws -> APIResponse {
        let type = request.headers.first(name: "Content-Type")?.lowercased() ?? ""
        guard ["image/png", "image/jpeg", "application/octet-stream"].contains(where: type.hasPrefix) else {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type",
                           message: "Send the image as image/png, image/jpeg or application/octet-stream.")
        }
        guard let body = request.body, let image = WatermarkImage(bytes: Array(body.readableBytesView)) else {
            throw APIError(.badRequest, code: "invalid_image", message: "The body is not a PNG or JPEG image.")
        }
        let channel = try await store.setWatermarkImage(image, of: id)
        announce(.updated(channel))
        return .json(Self.shown(channel, to: scope), headers: ["ETag": Self.etag(channel)])
    }

    private func watermarkImage(_ id: ChannelID) async throws -> APIResponse {
        _ = try await existing(id)
        guard let image = try await store.watermarkImage(of: id) else {
            throw APIError(.notFound, code: "no_watermark_image", message: "Channel \(id) has no watermark image.")
        }
        return APIResponse(status: .ok, headers: ["Content-Type": image.contentType, "Cache-Control": "no-cache"],
                           body: ByteBuffer(bytes: image.bytes))
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

    private func existing(_ id: ChannelID) async throws -> StreamChannel {
        guard let channel = try await store.channel(id) else { throw Self.notFound(id) }
        return channel
    }

    /// A small JSON request body that may be left out: nil without one, 400 when it does not decode.
    private func optionalBody<Body: Decodable>(_ type: Body.Type, _ request: APIRequest,
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

    static func notFound(_ id: ChannelID) -> APIError {
        APIError(.notFound, code: "channel_not_found", message: "No channel '\(id)'.")
    }

    static func methodNotAllowed(_ method: HTTPMethod) -> APIError {
        APIError(.methodNotAllowed, code: "method_not_allowed", message: "\(method) is not supported here.")
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
    var items: [StreamChannel]
    var next: String?
}

struct PushURLRequest: Decodable {
    var expiresAt: Date?
}

struct PlayURLRequest: Decodable {
    /// Seconds the URLs stay valid (1 s – 31 days). Default 3600.
    var ttlSeconds: Int?
    /// Binds the token to this client address.
    var clientIP: String?
}

struct PlayURL: Encodable {
    /// Signed URL by output (`flv`, `hls`, `llhls`, `dash`, `rtmp`).
    var urls: [String: String]
    /// `expires=…&token=…`, to append to any play path of the stream.
    var query: String
    var expiresAt: Date
    var clientIP: String?
}

struct PushURL: Encodable {
    var url: String
    /// For OBS: the server field.
    var server: String
    /// For OBS: the stream key field.
    var streamKey: String
    var expiresAt: Date
    /// What to encode in a QR code for mobile encoders.
    var qrText: String
}
