import Access
import Events
import Fanout
import NIOCore
import NIOHTTP1
import Packager

/// Playback: each request is admitted by the stream's playback rules first, then answered
/// from the fan-out (HTTP-FLV), the packager (HLS, LL-HLS, DASH, ABR) or the asset store.
extension HTTPHandler {
    /// Admits the request (signed URL, admission hook or ticket: `PlaybackAccess.admit`), then
    /// goes on with `proceed` on the event loop, passing the query that playlists carry on to
    /// the URIs they list (the admission ticket and the signed URL's `expires`/`token`). A
    /// playlist admitted by the hook without a ticket is redirected to itself with one.
    /// `query` replaces the URI's (WHEP adds the token of an `Authorization: Bearer` header).
    func admit(_ id: StreamID, protocol name: String, kind: PlayRequestKind, query given: [String: String]? = nil,
               context: ChannelHandlerContext, then proceed: @escaping (HTTPHandler, ChannelHandlerContext, String?) -> Void) {
        let uri = head?.uri ?? ""
        let query = given ?? APIRequest.query(of: uri)
        guard let access else {
            proceed(self, context, TokenCarrier.query(from: query, ticket: nil))
            return
        }
        let clientIP = context.channel.remoteAddress?.ipAddress
        // Most requests are decided at once (rules cached, no hook to ask): no task, no hop.
        if let decided = access.admitNow(stream: id.rawValue, protocol: name, kind: kind, query: query, clientIP: clientIP) {
            conclude(decided, query: query, uri: uri, context: context, then: proceed)
            return
        }
        let admission = context.eventLoop.makePromise(of: PlayAdmission.self)
        admission.completeWithTask {
            await access.admit(stream: id.rawValue, protocol: name, kind: kind, query: query, clientIP: clientIP)
        }
        let loopBound = NIOLoopBound((handler: self, context: context, proceed: proceed), eventLoop: context.eventLoop)
        onLoop(admission.futureResult, context: context) { admission in
            let (handler, context, proceed) = loopBound.value
            handler.conclude(admission, query: query, uri: uri, context: context, then: proceed)
        }
    }

    private func conclude(_ admission: PlayAdmission, query: [String: String], uri: String, context: ChannelHandlerContext,
                          then proceed: @escaping (HTTPHandler, ChannelHandlerContext, String?) -> Void) {
        switch admission {
        case .allow(let ticket):
            proceed(self, context, TokenCarrier.query(from: query, ticket: ticket))
        case .redirect(let ticket):
            let location = TokenCarrier.replacingTicket(in: uri, with: ticket)
            send(.temporaryRedirect, body: nil, extraHeaders: ["Location": location, "Cache-Control": "no-store"], context: context)
        case .deny(let code, let reason):
            let error = APIError(code == "unavailable" ? .serviceUnavailable : .forbidden, code: code, message: reason)
            send(error.status, body: error.body, context: context)
        }
    }

    func answerFLV(_ id: StreamID, rendition: String, context: ChannelHandlerContext) {
        if let fanout = hub.fanout(for: id, rendition: rendition) {
            serveFLV(fanout, id: id, context: context)
            return
        }
        guard hub.readsOnDemand else {
            serveFLV(nil, id: id, context: context)
            return
        }
        // A cluster's API node: the stream is read from the bus for its first viewer here.
        let hub = hub
        let opened = context.eventLoop.makePromise(of: StreamFanout?.self)
        opened.completeWithTask { await hub.fanout(opening: id, rendition: rendition) }
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        onLoop(opened.futureResult, context: context) { fanout in
            let (handler, context) = loopBound.value
            handler.serveFLV(fanout, id: id, context: context)
        }
    }

    func serveFLV(_ fanout: StreamFanout?, id: StreamID, context: ChannelHandlerContext) {
        guard let fanout else {
            let error = APIError.streamNotFound(id.rawValue)
            send(error.status, body: error.body, context: context)
            return
        }
        if isHead {
            send(.ok, body: nil, contentType: "video/x-flv", context: context)
        } else {
            startStream(fanout, context: context)
        }
    }

    /// The newest snapshot, never cached by the client for long (it changes every interval).
    func answerSnapshot(_ id: StreamID, context: ChannelHandlerContext) {
        let promise = context.eventLoop.makePromise(of: APIResponse.self)
        let recorded = recorded
        let conditional = head?.headers[canonicalForm: "If-None-Match"].map(String.init) ?? []
        promise.completeWithTask {
            do {
                guard let latest = try await recorded?.latestSnapshot(id) else {
                    return APIResponse.error(APIError(.notFound, code: "no_snapshot", message: "Stream \(id) has no snapshot yet."))
                }
                let headers: HTTPHeaders = ["Content-Type": "image/jpeg", "Cache-Control": "no-cache", "ETag": latest.tag]
                if conditional.contains(latest.tag) { return APIResponse(status: .notModified, headers: headers, body: nil) }
                return APIResponse(status: .ok, headers: headers, body: latest.jpeg)
            } catch {
                return APIResponse.error(APIError(.serviceUnavailable, code: "storage_unavailable", message: "The asset store failed."))
            }
        }
        sendWhenAnswered(promise.futureResult, context: context)
    }

    func answerABR(_ resource: ABRResource, of id: StreamID, carrying token: String?, context: ChannelHandlerContext) {
        guard let packaged, let head else {
            let error = APIError.streamNotFound(id.rawValue)
            send(error.status, body: error.body, context: context)
            return
        }
        let answered = packaged.answer(resource, of: id, head: head, carrying: token, eventLoop: context.eventLoop)
        sendWhenAnswered(counting(answered, of: id, fetch: .playlist(resource.protocolName), context: context), context: context)
    }

    /// Playlists may wait (blocking reload): the answer is sent when it comes.
    func answerPackaged(_ resource: PackagedResource, of id: StreamID, rendition: String, carrying token: String?,
                                context: ChannelHandlerContext) {
        guard let packaged, let head else {
            let error = APIError.streamNotFound(id.rawValue)
            send(error.status, body: error.body, context: context)
            return
        }
        let answered = packaged.answer(resource, of: id, rendition: rendition, head: head, carrying: token,
                                       eventLoop: context.eventLoop)
        sendWhenAnswered(counting(answered, of: id, fetch: resource.viewerFetch, context: context), context: context)
    }
}
