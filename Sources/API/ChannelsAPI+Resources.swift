import Access
import Events
import Foundation
import NIOCore
import State

/// A channel's resources beyond its fields: push and play URLs, and the watermark image.
extension ChannelsAPI {
    /// A push URL signed with the channel's secret: a credential, so its route needs read-write.
    /// By default the stable one (`sign=0-…`): the same on every call, valid until the secret is
    /// rotated or the channel expires, so an encoder profile set up once keeps working. A body
    /// with `expiresIn` (seconds) or `expiresAt` asks for a short-lived one instead.
    func pushURL(_ id: ChannelID, _ request: APIRequest) async throws -> APIResponse {
        let channel = try await existing(id)
        let asked = try optionalBody(PushURLRequest.self, request, expecting: "{expiresIn} or {expiresAt}, optional")
            ?? PushURLRequest()
        let expires = try asked.validatedExpiry(now: now(), channelExpiresAt: channel.expiresAt)
        guard let secret = try await store.pushSecret(of: id) else { throw Self.notFound(id) }
        let name = channel.streamName
        let urls = bases()
        let signature = PushSignature(secret: secret)
        let sign = expires.map { signature.sign(path: "/stream/\(name)", expires: $0) } ?? signature.stableSign(path: "/stream/\(name)")
        let url = "\(urls.push)/stream/\(name)?sign=\(sign)"
        let validUntil = expires.map { Date(timeIntervalSince1970: TimeInterval($0)) } ?? channel.expiresAt
        return .json(PushURL(url: url, server: "\(urls.push)/stream", streamKey: "\(name)?sign=\(sign)",
                             expiresAt: validUntil, stable: expires == nil, qrText: url))
    }

    /// The play URL of every enabled output, by output name.
    func playURLs(of channel: StreamChannel) -> [String: String] {
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
    func signedPlayURLs(_ id: ChannelID, _ request: APIRequest) async throws -> APIResponse {
        let channel = try await existing(id)
        let asked = try optionalBody(PlayURLRequest.self, request, expecting: "{ttlSeconds, clientIP}, both optional")
            ?? PlayURLRequest()
        let ttl = try asked.validatedTTL()
        guard let secret = try await store.pushSecret(of: id) else { throw Self.notFound(id) }
        let expires = Int64(now().timeIntervalSince1970) + Int64(ttl)
        let query = PlayToken(pushSecret: secret).query(prefix: PlayToken.prefix(of: channel.streamName),
                                                        expires: expires, clientIP: asked.clientIP)
        let urls = playURLs(of: channel).mapValues { "\($0)?\(query)" }
        return .json(PlayURL(urls: urls, query: query, expiresAt: Date(timeIntervalSince1970: TimeInterval(expires)),
                             clientIP: asked.clientIP))
    }

    func removeWatermarkImage(_ id: ChannelID) async throws -> APIResponse {
        let channel = try await store.setWatermarkImage(nil, of: id)
        announce(.updated(channel))
        return APIResponse(status: .noContent)
    }

    /// Takes a PNG or JPEG as the request body (at most `APIRouter.maxBodySize`), known by its
    /// signature; the watermark draws it when `watermark.image.enabled`.
    func setWatermarkImage(_ id: ChannelID, _ request: APIRequest, scope: APIKeyScope) async throws -> APIResponse {
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

    func watermarkImage(_ id: ChannelID) async throws -> APIResponse {
        _ = try await existing(id)
        guard let image = try await store.watermarkImage(of: id) else {
            throw APIError(.notFound, code: "no_watermark_image", message: "Channel \(id) has no watermark image.")
        }
        return APIResponse(status: .ok, headers: ["Content-Type": image.contentType, "Cache-Control": "no-cache"],
                           body: ByteBuffer(bytes: image.bytes))
    }
}

struct PushURLRequest: Decodable {
    /// Seconds the URL stays valid (60 s – 366 days); asks for a short-lived URL.
    var expiresIn: Int?
    /// When the URL stops working (at most 366 days ahead); asks for a short-lived URL.
    var expiresAt: Date?

    /// Longest lifetime of a short-lived push URL, seconds: 366 days.
    static let longest = 366 * 86_400

    /// The short-lived URL's expiry in whole Unix seconds, never after the channel's; nil for the
    /// stable URL (neither field sent). Checked here, where the numbers enter, before any
    /// arithmetic: a lifetime outside 60 s – 366 days, both fields, or an expiry in the past is a 400,
    /// and a channel that has expired is a 409.
    func validatedExpiry(now: Date, channelExpiresAt: Date?) throws(APIError) -> Int64? {
        if let channelExpiresAt, channelExpiresAt <= now {
            throw APIError(.conflict, code: "channel_expired", message: "The channel has expired.")
        }
        let seconds: Double
        switch (expiresIn, expiresAt) {
        case (nil, nil):
            return nil
        case (let wanted?, nil):
            guard (60...Self.longest).contains(wanted) else { throw Self.invalid("expiresIn", "must be 60–\(Self.longest) seconds") }
            seconds = Double(wanted)
        case (nil, let wanted?):
            seconds = wanted.timeIntervalSince(now)
            guard seconds > 0, seconds <= Double(Self.longest) else {
                throw Self.invalid("expiresAt", "must be in the future and at most 366 days ahead")
            }
        case (_?, _?):
            throw Self.invalid("expiresIn", "send expiresIn or expiresAt, not both")
        }
        var expiry = now.timeIntervalSince1970.rounded(.down) + seconds.rounded(.down)
        if let channelExpiresAt { expiry = min(expiry, channelExpiresAt.timeIntervalSince1970.rounded(.down)) }
        // Both terms are bounded above (a clock in range, at most 366 days): the conversion cannot trap.
        guard let whole = Int64(exactly: expiry), whole > Int64(now.timeIntervalSince1970) else {
            throw APIError(.conflict, code: "channel_expired", message: "The channel has expired.")
        }
        return whole
    }

    private static func invalid(_ field: String, _ message: String) -> APIError {
        APIError(.badRequest, code: "invalid_field", message: "\(field) \(message).", fields: [FieldError(field, message)])
    }
}

struct PlayURLRequest: Decodable {
    /// Seconds the URLs stay valid (1 s – 31 days). Default 3600.
    var ttlSeconds: Int?
    /// Binds the token to this client address.
    var clientIP: String?

    /// The seconds the URLs stay valid, once both fields are within bounds (what comes after
    /// adds them to the clock, so the range is checked here, where the number enters).
    func validatedTTL() throws(APIError) -> Int {
        let ttl = ttlSeconds ?? 3600
        guard (1...31 * 86_400).contains(ttl) else {
            throw APIError(.badRequest, code: "invalid_field", message: "ttlSeconds must be 1–2678400.",
                           fields: [FieldError("ttlSeconds", "must be 1–2678400")])
        }
        if let ip = clientIP, ip.isEmpty || ip.count > 64 || !ip.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == ":" }) {
            throw APIError(.badRequest, code: "invalid_field", message: "clientIP must be an IPv4 or IPv6 address.",
                           fields: [FieldError("clientIP", "must be an IPv4 or IPv6 address")])
        }
        return ttl
    }
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
    /// When the URL stops working: the requested expiry, else the channel's (null: until the
    /// secret is rotated).
    var expiresAt: Date?
    /// Whether this is the channel's stable URL (`sign=0-…`), the same until the secret rotates.
    var stable = false
    /// What to encode in a QR code for mobile encoders.
    var qrText: String

    /// `expiresAt` is written as null rather than left out, so clients see "no expiry" said.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(url, forKey: .url)
        try container.encode(server, forKey: .server)
        try container.encode(streamKey, forKey: .streamKey)
        try container.encode(expiresAt, forKey: .expiresAt)
        try container.encode(stable, forKey: .stable)
        try container.encode(qrText, forKey: .qrText)
    }

    private enum CodingKeys: String, CodingKey { case url, server, streamKey, expiresAt, stable, qrText }
}
