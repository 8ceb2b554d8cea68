import Access
import Events
import NIOCore
import NIOHTTP1
import SDP
import WebRTCMedia

/// WHEP and WHIP: an SDP offer in, a session and its answer out (RFC 9725 §4.2). A WHEP viewer
/// is admitted exactly like any other playback (signed play URL or its bearer token, the
/// admission hook asked with protocol `webrtc`) before the offer reaches `WHEPPlayback`; a WHIP
/// publisher's push signature (bearer or `?sign=`) is checked by `WHIPPublishing` through the
/// same policy, hook and publish lock as RTMP.
extension HTTPHandler {
    func answerWebRTC(_ request: WebRTCRequest, context: ChannelHandlerContext) {
        switch request.action {
        case .preflight(let allow):
            var headers: HTTPHeaders = ["Access-Control-Max-Age": "\(ResponseHeaders.webRTCPreflightMaxAge)", "Allow": allow]
            // RFC 9725 §4.2: the endpoint says what its POST takes.
            if allow == WebRTCRequest.endpointMethods {
                headers.add(name: "Accept-Post", value: "application/sdp")
            }
            send(.noContent, body: nil, extraHeaders: headers, context: context)
        case .methodNotAllowed(let method, let allow):
            let message = method == .PATCH
                ? "Trickle ICE is not supported: the server is ICE-lite and needs no candidates beyond the offer's."
                : "\(method) is not supported here."
            let error = APIError(.methodNotAllowed, code: "method_not_allowed", message: message)
            send(error.status, body: error.body, extraHeaders: ["Allow": allow], context: context)
        case .end(let session):
            endWebRTC(request, session: session, context: context)
        case .create:
            createWebRTC(request, context: context)
        }
    }

    private func createWebRTC(_ request: WebRTCRequest, context: ChannelHandlerContext) {
        if bodyTooLarge { keepAlive = false }
        let offer = WebRTCRequest.offer(contentType: head?.headers.first(name: "Content-Type"), body: body,
                                        tooLarge: bodyTooLarge)
        body = nil
        guard case .success(let offer) = offer else {
            if case .failure(let error) = offer { send(error.status, body: error.body, context: context) }
            return
        }
        let headers = head?.headers ?? [:]
        let query = APIRequest.query(of: head?.uri ?? "")
        let bearer = TokenCarrier.bearer(in: headers)
        let remote = context.channel.remoteAddress
        switch request.kind {
        case .whep:
            guard let whep else { return sendWebRTCOff(context: context) }
            // The same lock as every other playback: nothing reaches WHEP before admission.
            admit(request.stream, protocol: "webrtc", kind: .start, query: TokenCarrier.playQuery(query, bearer: bearer),
                  context: context) { handler, context, _ in
                handler.answer(context: context) {
                    let played = await whep.play(stream: request.stream, rendition: request.rendition, offer: offer,
                                                 clientIP: remote?.ipAddress)
                    return WebRTCRequest.response(to: played, of: request, credentialGiven: bearer != nil || query["token"] != nil)
                }
            }
        case .whip:
            guard let whip else { return sendWebRTCOff(context: context) }
            let sign = bearer ?? query["sign"]
            answer(context: context) {
                let published = await whip.publish(name: request.stream.rawValue, sign: sign, query: query, offer: offer,
                                                   clientIP: remote?.ipAddress, peer: Self.hostPort(remote))
                return WebRTCRequest.response(to: published, of: request, credentialGiven: sign != nil)
            }
        }
    }

    /// `DELETE`: the session ends (RFC 9725 §4.3); 404 when it is not (or no longer) here.
    private func endWebRTC(_ request: WebRTCRequest, session: WebRTCSessionID, context: ChannelHandlerContext) {
        let whep = whep
        let whip = whip
        guard request.kind == .whep ? whep != nil : whip != nil else { return sendWebRTCOff(context: context) }
        answer(context: context) {
            let ended = switch request.kind {
            case .whep: await whep?.end(stream: request.stream, session: session.rawValue) ?? false
            case .whip: await whip?.end(stream: request.stream, session: session.rawValue) ?? false
            }
            guard ended else {
                return .error(APIError(.notFound, code: "session_not_found", message: "No such \(request.kind.rawValue) session."))
            }
            return APIResponse(status: .ok)
        }
    }

    /// `host:port` (`[v6]:port`) of the HTTP client, as logs and `stream.online` show a peer.
    static func hostPort(_ address: SocketAddress?) -> String {
        guard let address, let ip = address.ipAddress else { return "unknown" }
        let port = address.port.map { ":\($0)" } ?? ""
        return ip.contains(":") ? "[\(ip)]\(port)" : "\(ip)\(port)"
    }

    private func sendWebRTCOff(context: ChannelHandlerContext) {
        let error = APIError(.serviceUnavailable, code: "webrtc_off", message: "WebRTC is off on this node.")
        send(error.status, body: error.body, context: context)
    }
}
