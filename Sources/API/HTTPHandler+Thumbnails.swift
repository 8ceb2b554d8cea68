import Events
import Foundation
import NIOCore
import NIOHTTP1
import Packager

/// The thumbnail track: the image playlist and its sprites, from the asset index and store.
/// What the index and store give is kept a moment (`ThumbnailTrack.lookups`), so a crowd of
/// players asking at once costs one lookup.
extension HTTPHandler {
    func answerThumbnails(_ resource: ThumbnailResource, of id: StreamID, carrying token: String?, context: ChannelHandlerContext) {
        guard let recorded, let head else {
            let error = APIError(.notFound, code: "no_thumbnails", message: "Stream \(id) has no thumbnails.")
            send(error.status, body: error.body, context: context)
            return
        }
        let promise = context.eventLoop.makePromise(of: APIResponse.self)
        promise.completeWithTask {
            do {
                let found = try await recorded.thumbnailLookups.value(for: ThumbnailTrack.LookupKey(stream: id, resource: resource)) {
                    try await Self.lookUp(resource, of: id, recorded: recorded)
                }
                return Self.answer(found, to: resource, of: id, head: head, carrying: token)
            } catch {
                return APIResponse.error(APIError(.serviceUnavailable, code: "storage_unavailable", message: "The asset store failed."))
            }
        }
        sendWhenAnswered(promise.futureResult, context: context)
    }

    private static func lookUp(_ resource: ThumbnailResource, of id: StreamID, recorded: RecordedMedia) async throws -> ThumbnailTrack.Found {
        switch resource {
        case .playlist:
            guard let playlist = ThumbnailTrack.playlist(of: try await recorded.thumbnailSprites(id, nil)) else { return .none }
            let body = ByteBuffer(string: playlist.render())
            return .playlist(body, tag: EntityTags.of(body))
        case .sprite(let name):
            guard let (number, layout) = ThumbnailSprite.parse(name: Substring(name)),
                  let asset = ThumbnailTrack.asset(named: name, in: try await recorded.thumbnailSprites(id, layout.start(ofSprite: number))),
                  let jpeg = try await recorded.read(asset.location) else { return .none }
            return .sprite(jpeg, tag: EntityTags.of(jpeg), complete: ThumbnailTrack.isComplete(asset, layout: layout),
                           intervalSeconds: layout.intervalSeconds)
        }
    }

    /// A sprite grows a tile at a time until it is complete: cached briefly until then, for
    /// good after. Which it is comes from its listing alone, so every node says the same.
    private static func answer(_ found: ThumbnailTrack.Found, to resource: ThumbnailResource, of id: StreamID, head: HTTPRequestHead,
                               carrying token: String?) -> APIResponse {
        switch found {
        case .none:
            let error = resource != .playlist ? APIError(.notFound, code: "not_found", message: "No such thumbnail sprite.")
                : APIError(.notFound, code: "no_thumbnails", message: "Stream \(id) has no thumbnails (yet).")
            return APIResponse.error(error)
        case .playlist(let body, let tag):
            let response = PackagedResponse.content(body, contentType: "application/vnd.apple.mpegurl", entityTag: tag, isPlaylist: true)
            return PackagedPlayback.answer(response.carrying(token), request: PlaylistRequest(), head: head)
        case .sprite(let jpeg, let tag, let complete, let interval):
            let headers: HTTPHeaders = ["Content-Type": "image/jpeg", "ETag": tag,
                                        "Cache-Control": complete ? "public, max-age=31536000, immutable" : "max-age=\(interval)"]
            if head.headers[canonicalForm: "If-None-Match"].contains(where: { $0 == tag }) {
                return APIResponse(status: .notModified, headers: headers, body: nil)
            }
            return APIResponse(status: .ok, headers: headers, body: jpeg)
        }
    }
}

/// Strong entity tags from content (FNV-1a), as the packager's.
enum EntityTags {
    static func of(_ body: ByteBuffer) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in body.readableBytesView { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return "\"\(String(hash, radix: 16))\""
    }
}
