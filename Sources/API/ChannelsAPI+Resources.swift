import Access
import Events
import Foundation
import NIOCore
import State

/// A channel's resources beyond its fields: push and play URLs, and the watermark image.
extension ChannelsAPI {
    /// A push URL signed with the channel's secret: a credential, so its route needs read-write.
    func pushURL(_ id: ChannelID, _ request: APIRequest) async throws -> APIResponse {
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
    var expiresAt: Date?
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
    var expiresAt: Date
    /// What to encode in a QR code for mobile encoders.
    var qrText: String
}
