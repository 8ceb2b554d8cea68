import Events
import NIOCore
import NIOHTTP1
import Packager

extension PackagedPlayback {
    /// `/{id}/iframes.m3u8` and `/{id}/{rendition}/iframes.m3u8`: the classic HLS variant's
    /// I-frame playlist. Like the classic playlist, it is first served once a segment is complete
    /// (on a node that was not reading the stream, after waiting for it).
    func answerIFrames(of stream: StreamID, rendition: String, head: HTTPRequestHead, carrying token: String?,
                       eventLoop: any EventLoop) -> EventLoopFuture<APIResponse> {
        packager.package(opening: stream, rendition: rendition, eventLoop: eventLoop).flatMap { [signedPlaylists] package in
            guard let package, package.isLive, package.configuration.serves(.classicPlaylist) else {
                return eventLoop.makeSucceededFuture(APIResponse.error(.streamNotFound(stream.rawValue)))
            }
            return package.respond(to: .classicPlaylist, request: PlaylistRequest(), eventLoop: eventLoop).map { _ in
                let response = package.iFramePlaylist()
                guard case .content = response else {
                    return APIResponse.error(APIError(.notFound, code: "no_iframes",
                        message: "Stream \(stream) has no I-frame playlist (trickPlay.iFramePlaylists off, no video, or starting)."))
                }
                return Self.answer(signedPlaylists.carrying(token, into: response), request: PlaylistRequest(), head: head)
            }
        }
    }
}

extension HTTPHandler {
    func answerIFrames(of id: StreamID, rendition: String, carrying token: String?, context: ChannelHandlerContext) {
        guard let packaged, let head else {
            let error = APIError.streamNotFound(id.rawValue)
            send(error.status, body: error.body, context: context)
            return
        }
        let answered = packaged.answerIFrames(of: id, rendition: rendition, head: head, carrying: token, eventLoop: context.eventLoop)
        sendWhenAnswered(counting(answered, of: id, fetch: .playlist("hls"), context: context), context: context)
    }
}
