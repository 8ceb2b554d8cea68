import Events
import Foundation
import NIOCore
import NIOHTTP1
import Packager

/// The thumbnail track: the image playlist and its sprites, from the asset index and store.
extension HTTPHandler {
    func answerThumbnails(_ resource: ThumbnailResource, of id: StreamID, carrying token: String?, context: ChannelHandlerContext) {
        let promise = context.eventLoop.makePromise(of: APIResponse.self)
        guard let recorded, let head else {
            let error = APIError(.notFound, code: "no_thumbnails", message: "Stream \(id) has no thumbnails.")
            send(error.status, body: error.body, context: context)
            return
        }
        promise.completeWithTask {
            do {
                switch resource {
                case .playlist:
                    return try await Self.thumbnailPlaylist(of: id, recorded: recorded, head: head, carrying: token)
                case .sprite(let name):
                    return try await Self.sprite(name, of: id, recorded: recorded, head: head)
                }
            } catch {
                return APIResponse.error(APIError(.serviceUnavailable, code: "storage_unavailable", message: "The asset store failed."))
            }
        }
        sendWhenAnswered(promise.futureResult, context: context)
    }

    private static func thumbnailPlaylist(of id: StreamID, recorded: RecordedMedia, head: HTTPRequestHead,
                                          carrying token: String?) async throws -> APIResponse {
        guard let playlist = ThumbnailTrack.playlist(of: try await recorded.thumbnailSprites(id, nil)) else {
            return APIResponse.error(APIError(.notFound, code: "no_thumbnails", message: "Stream \(id) has no thumbnails (yet)."))
        }
        let body = ByteBuffer(string: playlist.render())
        let response = PackagedResponse.content(body, contentType: "application/vnd.apple.mpegurl", entityTag: EntityTags.of(body),
                                                isPlaylist: true)
        return PackagedPlayback.answer(response.carrying(token), request: PlaylistRequest(), head: head)
    }

    /// A sprite grows a tile at a time until its time has passed: cached briefly until then,
    /// for good after.
    private static func sprite(_ name: String, of id: StreamID, recorded: RecordedMedia, head: HTTPRequestHead) async throws -> APIResponse {
        guard let (number, layout) = ThumbnailSprite.parse(name: Substring(name)),
              let asset = ThumbnailTrack.asset(named: name, in: try await recorded.thumbnailSprites(id, layout.start(ofSprite: number))),
              let jpeg = try await recorded.read(asset.location) else {
            return APIResponse.error(APIError(.notFound, code: "not_found", message: "No such thumbnail sprite."))
        }
        let ended = asset.start.addingTimeInterval(asset.duration + 10) < Date()
        let tag = EntityTags.of(jpeg)
        let headers: HTTPHeaders = ["Content-Type": "image/jpeg", "ETag": tag,
                                    "Cache-Control": ended ? "public, max-age=31536000, immutable" : "max-age=\(layout.intervalSeconds)"]
        if head.headers[canonicalForm: "If-None-Match"].contains(where: { $0 == tag }) {
            return APIResponse(status: .notModified, headers: headers, body: nil)
        }
        return APIResponse(status: .ok, headers: headers, body: jpeg)
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
