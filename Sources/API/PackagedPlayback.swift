import Events
import Media
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import Packager
import State

/// Serves HLS, LL-HLS and DASH from the packager: playlists short-lived in caches, media
/// immutable (names never repeat), entity tags and `If-None-Match`, byte ranges on media,
/// blocking playlist reloads, JSON errors for streams that are unknown or offline.
struct PackagedPlayback: Sendable {
    let packager: PackagerHub
    /// Playlists with a token carried in, by entity tag and token: every client of one signed URL
    /// gets the same rewrite of the same playlist version.
    let signedPlaylists = SignedPlaylistCache()
    /// Counts the HLS, LL-HLS and DASH viewings answered here; nil: not counted.
    var viewers: HTTPViewerSessions? = nil

    /// Seconds a blocking playlist answer may be cached: its URL names the state it waited for.
    static let blockingMaxAge = 6

    /// - Parameter token: a signed URL's `expires=…&token=…`, carried on to the URIs playlists list.
    ///
    /// A stream not packaged on this node yet starts being read (when the packager reads on
    /// demand) and the request waits for its package, then for what it asked.
    func answer(_ resource: PackagedResource, of stream: StreamID, rendition: String = "", head: HTTPRequestHead,
                carrying token: String?, eventLoop: any EventLoop) -> EventLoopFuture<APIResponse> {
        guard let request = try? PlaylistRequest(query: head.uri.split(separator: "?", maxSplits: 1).dropFirst().first) else {
            return eventLoop.makeSucceededFuture(APIResponse.error(Self.badDirective))
        }
        return packager.package(opening: stream, rendition: rendition, eventLoop: eventLoop).flatMap { [packager, signedPlaylists] package in
            guard let package, package.configuration.serves(resource), package.isLive || !resource.isPlaylist else {
                return eventLoop.makeSucceededFuture(APIResponse.error(.streamNotFound(stream.rawValue)))
            }
            // A relative start-over goes to the instant it names now (docs/DVR.md).
            if resource.isPlaylist, case .beforeLive(let seconds) = request.start {
                guard let edge = package.liveEdge else { return eventLoop.makeSucceededFuture(APIResponse.error(StartOver.notYet)) }
                return eventLoop.makeSucceededFuture(StartOver.redirect(head.uri, seconds: seconds, liveEdge: edge))
            }
            return package.respond(to: resource, request: request, eventLoop: eventLoop).flatMap { response in
                // A segment the DVR window lists that has left memory: from the asset store.
                if case .notFound = response, let archived = package.archivedMedia(resource) {
                    return Self.archived(resource, at: archived.location, in: archived.store, head: head, eventLoop: eventLoop)
                }
                // A start-over before the window: a VOD recording of the stream may cover it.
                if case .startUnavailable(let refusal) = response, case .beforeWindow = refusal, case .at(let instant) = request.start,
                   resource.protocolName != "dash", let index = packager.dvr?.index {
                    return StartOver.recording(of: stream, at: instant, in: index, uri: head.uri, otherwise: refusal, eventLoop: eventLoop)
                }
                let reported = packager.reportingRenditions(response, for: resource, of: stream, rendition: rendition)
                return eventLoop.makeSucceededFuture(Self.answer(signedPlaylists.carrying(token, into: reported), request: request, head: head))
            }
        }
    }

    /// An archived segment, with the headers it had live (same entity tag, immutable): sent from
    /// the store's file when it is on this disk (byte ranges with `sendfile`), else read from the
    /// store and sent at this URL, never redirected, so a CDN caches one URL per segment.
    static func archived(_ resource: PackagedResource, at location: String, in store: any AssetStore, head: HTTPRequestHead,
                         eventLoop: any EventLoop) -> EventLoopFuture<APIResponse> {
        let tag = "\"\(resource.relativePath)\""
        let promise = eventLoop.makePromise(of: APIResponse.self)
        promise.completeWithTask {
            do {
                if try await store.localFile(location) != nil {
                    let headers: HTTPHeaders = ["Content-Type": resource.contentType, "ETag": tag,
                                                "Cache-Control": "public, max-age=31536000, immutable"]
                    if head.headers[canonicalForm: "If-None-Match"].contains(where: { $0 == tag || $0 == "*" }) {
                        return APIResponse(status: .notModified, headers: headers, body: nil)
                    }
                    var response = APIResponse(status: .ok, headers: headers)
                    response.storedFile = location
                    return response
                }
                guard let bytes = try await store.get(location) else { return Self.answer(.notFound, request: PlaylistRequest(), head: head) }
                let content = PackagedResponse.content(ByteBuffer(bytes: bytes), contentType: resource.contentType, entityTag: tag, isPlaylist: false)
                return Self.answer(content, request: PlaylistRequest(), head: head)
            } catch {
                return APIResponse.error(APIError(.serviceUnavailable, code: "storage_unavailable", message: "The asset store failed."))
            }
        }
        return promise.futureResult
    }

    /// A transcoded stream's presentation: its ABR master playlists or multi-representation MPD.
    /// On a node that was not reading the stream, it waits for a rendition's first segment (the
    /// presentation lists renditions by what their segments measured).
    func answer(_ resource: ABRResource, of stream: StreamID, head: HTTPRequestHead, carrying token: String?,
                eventLoop: any EventLoop) -> EventLoopFuture<APIResponse> {
        let waited = resource.readiness
        // A start-over on an HLS master goes on to every rendition's playlist (docs/DVR.md).
        guard let asked = try? PlaylistRequest(query: head.uri.split(separator: "?", maxSplits: 1).dropFirst().first) else {
            return eventLoop.makeSucceededFuture(APIResponse.error(Self.badDirective))
        }
        let start = resource == .dash ? nil : asked.start
        return packager.package(opening: stream, rendition: nil, eventLoop: eventLoop).flatMap { package -> EventLoopFuture<Int64?> in
            guard let package, package.configuration.serves(waited) else { return eventLoop.makeSucceededFuture(nil) }
            return package.respond(to: waited, request: PlaylistRequest(), eventLoop: eventLoop).map { _ in package.liveEdge }
        }.map { [packager, signedPlaylists] edge in
            if case .beforeLive(let seconds) = start {
                guard let edge else { return APIResponse.error(StartOver.notYet) }
                return StartOver.redirect(head.uri, seconds: seconds, liveEdge: edge)
            }
            var response = packager.respond(to: resource, of: stream)
            guard case .content = response else {
                return APIResponse.error(APIError(.notFound, code: "no_renditions",
                    message: "Stream \(stream) has no renditions live for \(resource.rawValue) (transcoding off, or starting)."))
            }
            if case .at(let instant) = start { response = response.carrying("start=\(UTCDate.string(unixMilliseconds: instant))") }
            return Self.answer(signedPlaylists.carrying(token, into: response), request: PlaylistRequest(), head: head)
        }
    }

    /// A query the playlist directives do not parse from (the client's own text is not echoed back).
    static let badDirective = APIError(.badRequest, code: "bad_directive",
                                       message: "Malformed or out-of-range playlist directive (_HLS_msn, _HLS_part, _HLS_skip or start).")

    /// The HTTP answer of a packager response: caching, entity tags, byte ranges, errors.
    static func answer(_ response: PackagedResponse, request: PlaylistRequest, head: HTTPRequestHead) -> APIResponse {
        switch response {
        case .notFound:
            return APIResponse.error(APIError(.notFound, code: "not_found", message: "No such segment, part or playlist (it may have left the window)."))
        case .tooFarAhead(let reason):
            return APIResponse.error(APIError(.badRequest, code: "too_far_ahead", message: reason))
        case .timedOut:
            return APIResponse.error(APIError(.serviceUnavailable, code: "not_yet_available", message: "The stream did not reach the requested segment in time."))
        case .startUnavailable(let reason):
            return APIResponse.error(StartOver.unavailable(reason))
        case .content(let body, let contentType, let tag, let isPlaylist):
            var headers = HTTPHeaders([("Content-Type", contentType), ("ETag", tag)])
            if isPlaylist {
                headers.add(name: "Cache-Control", value: "max-age=\(request.blocks ? blockingMaxAge : 1)")
            } else {
                headers.add(name: "Cache-Control", value: "public, max-age=31536000, immutable")
                headers.add(name: "Accept-Ranges", value: "bytes")
            }
            if head.headers[canonicalForm: "If-None-Match"].contains(where: { $0 == tag || $0 == "*" }) {
                return APIResponse(status: .notModified, headers: headers, body: nil)
            }
            if !isPlaylist, let range = head.headers.first(name: "Range") {
                return ranged(body, range: range, headers: headers)
            }
            return APIResponse(status: .ok, headers: headers, body: body)
        }
    }

    /// One `bytes=` range (RFC 9110 §14): 206 with `Content-Range`, or 416.
    static func ranged(_ body: ByteBuffer, range: String, headers: HTTPHeaders) -> APIResponse {
        var headers = headers
        let size = body.readableBytes
        guard let bounds = ByteRange.parse(range, size: size) else {
            headers.add(name: "Content-Range", value: "bytes */\(size)")
            return APIResponse(status: .rangeNotSatisfiable, headers: headers, body: nil)
        }
        headers.add(name: "Content-Range", value: "bytes \(bounds.lowerBound)-\(bounds.upperBound)/\(size)")
        return APIResponse(status: .partialContent, headers: headers,
                          body: body.getSlice(at: body.readerIndex + bounds.lowerBound, length: bounds.count))
    }
}

extension ABRResource {
    /// A rendition's own resource that is ready when the rendition can be listed in this one.
    var readiness: PackagedResource {
        switch self {
        case .classic: return .classicPlaylist
        case .lowLatency: return .llhlsMultivariant
        case .dash: return .dashManifest
        }
    }
}

/// The single range of a `Range: bytes=…` header (RFC 9110 §14.1.2).
enum ByteRange {
    /// `bytes=first-last`, `bytes=first-` or `bytes=-suffix`, clamped to a body of `size`
    /// bytes; nil when unsatisfiable or not a single byte range.
    static func parse(_ header: String, size: Int) -> ClosedRange<Int>? {
        guard header.hasPrefix("bytes="), !header.contains(","), size > 0 else { return nil }
        let spec = header.dropFirst(6).split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard spec.count == 2 else { return nil }
        switch (Int(spec[0]), Int(spec[1])) {
        case (let first?, let last?) where first <= last && first < size: return first...min(last, size - 1)
        case (let first?, nil) where spec[1].isEmpty && first < size: return first...(size - 1)
        case (nil, let suffix?) where spec[0].isEmpty && suffix > 0: return max(0, size - suffix)...(size - 1)
        default: return nil
        }
    }
}

extension PackagedResponse {
    /// The response with a signed URL's query on every URI it lists (playlists and manifests
    /// only), and an entity tag of what it carries: copies carrying different queries (tokens,
    /// start-over instants) never share a tag.
    func carrying(_ token: String?) -> PackagedResponse {
        guard let token, case .content(let body, let contentType, let tag, true) = self else { return self }
        let text = String(buffer: body)
        let carried = contentType.contains("dash")
            ? TokenCarrier.carry(token, intoManifest: text) : TokenCarrier.carry(token, intoPlaylist: text)
        // FNV-1a over the query: the tag's suffix was the query's last 8 characters, which two
        // start-over instants (or two tokens) can share.
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in token.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        let suffix = String(hash, radix: 16)
        let signedTag = tag.hasSuffix("\"") ? "\(tag.dropLast())-\(suffix)\"" : "\(tag)-\(suffix)"
        return .content(ByteBuffer(string: carried), contentType: contentType, entityTag: signedTag, isPlaylist: true)
    }
}

/// Rewritten playlists, kept until the cache holds `capacity` of them, then dropped all at once
/// (playlists change every part; what matters is that concurrent clients share a rewrite).
final class SignedPlaylistCache: Sendable {
    // A lock: every event loop's playlist answers share the cache, each lookup a dictionary access.
    private let entries = NIOLockedValueBox([String: PackagedResponse]())
    private let capacity = 512

    func carrying(_ token: String?, into response: PackagedResponse) -> PackagedResponse {
        guard let token, case .content(_, _, let tag, true) = response else { return response }
        let key = tag + "|" + token
        if let cached = entries.withLockedValue({ $0[key] }) { return cached }
        let carried = response.carrying(token)
        entries.withLockedValue { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = carried
        }
        return carried
    }
}
