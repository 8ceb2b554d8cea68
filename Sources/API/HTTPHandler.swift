import Access
import Events
import Fanout
import Logging
import NIOCore
import NIOHTTP1
import Packager
import WebRTCMedia

/// Serves one HTTP/1.1 connection: health, errors, and the switch to an HTTP-FLV stream. When a
/// request becomes a stream, the HTTP codec leaves the pipeline and FLV tags go to the socket
/// as they are, shared with every other viewer. `HTTPServerPipelineHandler` (in front) hands
/// over one request at a time, the next once this one's response has ended, so pipelined
/// answers keep request order.
final class HTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let idleName = "http-idle"

    let hub: FanoutHub
    private let api: APIRouter?
    let packaged: PackagedPlayback?
    let access: PlaybackAccess?
    let metrics: ServerMetrics
    private let readiness: ReadinessCheck?
    let recorded: RecordedMedia?
    /// WHEP playback and WHIP publishing; nil: WebRTC is off (`--no-webrtc`).
    let whep: (any WHEPPlayback)?
    let whip: (any WHIPPublishing)?
    let logger: Logger
    private var route: Route?
    var head: HTTPRequestHead?
    var body: ByteBuffer?
    var bodyTooLarge = false
    /// Headers of the request's answer that replace the common ones (WHEP and WHIP's CORS).
    private var routeHeaders: HTTPHeaders = [:]
    var keepAlive = true
    var isHead = false
    var started = NIODeadline.now()
    var routeLabel = "error"

    init(hub: FanoutHub, api: APIRouter?, packaged: PackagedPlayback?, access: PlaybackAccess?,
         metrics: ServerMetrics, readiness: ReadinessCheck?, recorded: RecordedMedia? = nil,
         whep: (any WHEPPlayback)? = nil, whip: (any WHIPPublishing)? = nil, logger: Logger) {
        self.recorded = recorded
        self.whep = whep
        self.whip = whip
        self.hub = hub
        self.api = api
        self.packaged = packaged
        self.access = access
        self.metrics = metrics
        self.readiness = readiness
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            let route = Route(method: head.method, uri: head.uri)
            self.route = route
            started = .now()
            routeLabel = route.metricLabel
            self.head = head
            body = nil
            bodyTooLarge = false
            keepAlive = head.isKeepAlive
            isHead = head.method == .HEAD
            routeHeaders = route.headers
            if route.takesBody, head.headers[canonicalForm: "Expect"].contains(where: { $0.lowercased() == "100-continue" }) {
                // libcurl (OBS's WHIP output) waits a second for this before sending a body.
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))),
                                      promise: nil)
            }
        case .body(var chunk):
            // Only API requests and SDP offers have bodies worth keeping, and only up to the limit.
            guard let route, route.takesBody, !bodyTooLarge else { return }
            if (body?.readableBytes ?? 0) + chunk.readableBytes > route.bodyLimit {
                bodyTooLarge = true
                body = nil
            } else {
                body = body ?? context.channel.allocator.buffer(capacity: chunk.readableBytes)
                body!.writeBuffer(&chunk)
            }
        case .end:
            guard let route else { return }
            self.route = nil
            respond(route, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Only connections still speaking HTTP get here; streaming ones have replaced this handler.
        if case IdleStateHandler.IdleStateEvent.read = event {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// A request the decoder could not read gets a 400 and the connection closes; any other
    /// error (a reset socket) closes it at once, since an answer could land in the middle of
    /// one already being written.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError else {
            logger.debug("HTTP connection failed", metadata: ["error": "\(error)"])
            context.close(promise: nil)
            return
        }
        logger.debug("bad HTTP request", metadata: ["error": "\(error)"])
        keepAlive = false
        isHead = false
        let reply = APIError(.badRequest, code: "bad_request", message: "Malformed HTTP request.")
        send(reply.status, body: reply.body, context: context)
    }

    /// Carries out a parsed request: what is known at once is sent now, the rest when answered.
    private func respond(_ route: Route, context: ChannelHandlerContext) {
        switch route {
        case .health:
            send(.ok, body: ByteBuffer(string: #"{"status":"ok"}"#), context: context)
        case .ready:
            answerReady(context: context)
        case .metrics:
            let metrics = metrics
            answer(context: context) {
                APIResponse(status: .ok, headers: ["Content-Type": "text/plain; version=0.0.4"],
                            body: ByteBuffer(string: await metrics.render()))
            }
        case .preflight:
            send(.noContent, body: nil, context: context)
        case .api(let matched):
            answerAPI(matched, context: context)
        case .failure(let error):
            send(error.status, body: error.body, context: context)
        case .packaged(let id, let rendition, let resource):
            admit(id, protocol: resource.protocolName, kind: resource.isPlaylist ? .playlist : .follower, context: context) {
                handler, context, carried in
                handler.answerPackaged(resource, of: id, rendition: rendition, carrying: carried, context: context)
            }
        case .abr(let id, let resource):
            admit(id, protocol: resource.protocolName, kind: .playlist, context: context) { handler, context, carried in
                handler.answerABR(resource, of: id, carrying: carried, context: context)
            }
        case .vod(let session, let file):
            answerVOD(session: session, file: file, context: context)
        case .snapshot(let id):
            admit(id, protocol: "snapshot", kind: .start, context: context) { handler, context, _ in
                handler.answerSnapshot(id, context: context)
            }
        case .iFrames(let id, let rendition):
            admit(id, protocol: "hls", kind: .playlist, context: context) { handler, context, carried in
                handler.answerIFrames(of: id, rendition: rendition, carrying: carried, context: context)
            }
        case .thumbnails(let id, let resource):
            admit(id, protocol: "hls", kind: resource == .playlist ? .playlist : .follower, context: context) { handler, context, carried in
                handler.answerThumbnails(resource, of: id, carrying: carried, context: context)
            }
        case .playerPage(_, let page):
            send(.ok, body: page.html, extraHeaders: ["Content-Type": page.contentType, "Cache-Control": "max-age=60"],
                 context: context)
        case .webRTC(let request):
            answerWebRTC(request, context: context)
        case .console(let name):
            answerConsole(name, context: context)
        case .redirect(let location):
            send(.movedPermanently, body: nil, extraHeaders: ["Location": location], context: context)
        case .httpFLV(let id, let rendition):
            admit(id, protocol: "flv", kind: .start, context: context) { handler, context, _ in
                handler.answerFLV(id, rendition: rendition, context: context)
            }
        }
    }

    /// `/readyz`: 200 once the node's dependencies answer, else 503 with what is missing.
    private func answerReady(context: ChannelHandlerContext) {
        let readiness = readiness
        answer(context: context) {
            guard let problem = await readiness?() else {
                return APIResponse(status: .ok, body: ByteBuffer(string: #"{"status":"ok"}"#))
            }
            return APIResponse.error(APIError(.serviceUnavailable, code: "not_ready", message: problem))
        }
    }

    private func answerConsole(_ name: String, context: ChannelHandlerContext) {
        guard let file = ConsolePage.file(name) else {
            let error = APIError(.notFound, code: "not_found", message: "No console file \(name).")
            send(error.status, body: error.body, context: context)
            return
        }
        var headers = ConsolePage.headers
        headers.add(name: "Content-Type", value: file.contentType)
        send(.ok, body: file.body, extraHeaders: headers, context: context)
    }

    /// Answers off the event loop (stores may block on disk), sending the answer when it comes.
    func answer(context: ChannelHandlerContext, _ make: @escaping @Sendable () async -> APIResponse) {
        let promise = context.eventLoop.makePromise(of: APIResponse.self)
        promise.completeWithTask(make)
        sendWhenAnswered(promise.futureResult, context: context)
    }

    /// Runs `then` on the event loop once `future` has an answer. Pipelined requests wait their
    /// turn in `HTTPServerPipelineHandler` until this one's response has ended. Called from the
    /// handler, on its loop, so `then` may hold the handler and its context.
    func onLoop<Value: Sendable>(_ future: EventLoopFuture<Value>, context: ChannelHandlerContext,
                                 then: @escaping (Value) -> Void) {
        future.hop(to: context.eventLoop).assumeIsolated().whenSuccess(then)
    }

    /// Runs the API off the event loop (stores may block on disk).
    private func answerAPI(_ matched: Result<APICall, APIError>, context: ChannelHandlerContext) {
        guard let api, let head else {
            let error = APIError(.notFound, code: "not_found", message: "The API is not enabled.")
            send(error.status, body: error.body, context: context)
            return
        }
        guard !bodyTooLarge else {
            keepAlive = false
            let error = APIError(.payloadTooLarge, code: "body_too_large",
                                 message: "Request bodies are limited to \(APIRouter.maxBodySize) bytes.")
            send(error.status, body: error.body, context: context)
            return
        }
        let request = APIRequest(method: head.method, uri: head.uri, headers: head.headers, body: body)
        body = nil
        answer(context: context) { await api.handle(request, matched: matched) }
    }

    /// Sends an answer that comes later (pipelined requests wait for it in
    /// `HTTPServerPipelineHandler`).
    func sendWhenAnswered(_ answer: EventLoopFuture<APIResponse>, context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        answer.hop(to: context.eventLoop).whenSuccess { response in
            let (handler, context) = loopBound.value
            if let events = response.events, !handler.isHead {
                handler.startEvents(events, headers: response.headers, context: context)
                return
            }
            if let location = response.storedFile, response.status == .ok {
                handler.answerStoredFile(location, headers: response.headers, context: context)
                return
            }
            handler.send(response.status, body: response.body, extraHeaders: response.headers, context: context)
        }
    }

    func send(_ status: HTTPResponseStatus, body: ByteBuffer?, contentType: String = "application/json",
              extraHeaders: HTTPHeaders = [:], context: ChannelHandlerContext) {
        var headers = extraHeaders
        if !headers.contains(name: "Content-Type") { headers.add(name: "Content-Type", value: contentType) }
        writeHead(status, contentLength: status == .notModified ? nil : body?.readableBytes ?? 0, headers: headers, context: context)
        if let body, !isHead { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        finish(status, context: context)
    }

    /// The response head with the headers every answer has (`ResponseHeaders`).
    func writeHead(_ status: HTTPResponseStatus, contentLength: Int?, headers extra: HTTPHeaders, context: ChannelHandlerContext) {
        var extra = extra
        for (name, value) in routeHeaders where !extra.contains(name: name) { extra.add(name: name, value: value) }
        let headers = ResponseHeaders.complete(extra, contentLength: contentLength, keepAlive: keepAlive)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
                      promise: nil)
    }

    /// Ends the response: metrics, and the connection closed after it unless kept alive. The
    /// request's state is read before the end is written: writing it hands the next pipelined
    /// request to `channelRead` at once.
    @discardableResult
    func finish(_ status: HTTPResponseStatus, context: ChannelHandlerContext) -> EventLoopFuture<Void> {
        metrics.recordRequest(route: routeLabel, status: status.code, duration: .nanoseconds((NIODeadline.now() - started).nanoseconds))
        let keepAlive = keepAlive
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
        return done
    }
}
