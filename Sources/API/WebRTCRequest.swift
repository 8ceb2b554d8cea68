import Events
import NIOCore
import NIOHTTP1
import SDP
import WebRTCMedia

/// A WHEP (playback) or WHIP (publish) request, parsed once from its method, path and query:
/// `POST /{id}/whep` and `/{id}/whip` offer an SDP and get the answer; `DELETE
/// /{id}/whep/{session}` ends a session; `PATCH` (trickle ICE, RFC 9725 §4.3) is refused with a
/// 405, since the server is ICE-lite and the offer's candidates are all it needs; `OPTIONS` on
/// any of them is the browser's CORS preflight.
struct WebRTCRequest: Equatable, Sendable {
    /// Which of the two protocols the path names.
    enum Kind: String, Sendable, CaseIterable {
        /// WebRTC-HTTP Egress Protocol: a viewer.
        case whep
        /// WebRTC-HTTP Ingestion Protocol (RFC 9725): a publisher.
        case whip
    }

    enum Action: Equatable, Sendable {
        /// `POST /{id}/{kind}`: a new session from the body's offer.
        case create
        /// `DELETE /{id}/{kind}/{session}`.
        case end(WebRTCSessionID)
        /// `OPTIONS` on the endpoint or a session: the CORS preflight; `allow` is what the
        /// resource serves.
        case preflight(allow: String)
        /// A method the resource does not serve: 405 with the methods it does (`Allow`).
        case methodNotAllowed(HTTPMethod, allow: String)
    }

    var stream: StreamID
    var kind: Kind
    var action: Action
    /// The transcoder's rendition a WHEP viewer asked for (`?rendition=720p`); empty: the source.
    var rendition: String = ""

    /// The methods the endpoint (`POST /{id}/whep`) serves.
    static let endpointMethods = "POST, OPTIONS"
    /// The methods a session resource serves (RFC 9725 §4.3: no trickle ICE, so no PATCH).
    static let sessionMethods = "DELETE, OPTIONS"

    /// The most bytes an SDP offer may have (the SDP parser's own limit); a larger body is a 413.
    static let maxOfferSize = 64 << 10

    /// The route of a request whose `path` (the URI before `?`) is `/{id}/whep`, `/{id}/whip` or
    /// one of their sessions; nil for any other path.
    static func route(method: HTTPMethod, path: String, uri: String) -> Route? {
        // Most requests are playlist reloads: only paths naming WHEP or WHIP are split here.
        guard path.contains("/whep") || path.contains("/whip") else { return nil }
        let segments = APIRequest.segments(of: path)
        guard segments.count == 2 || segments.count == 3, let kind = Kind(rawValue: segments[1]) else { return nil }
        guard let stream = StreamID(segments[0]) else { return .failure(.streamNotFound(segments[0])) }
        if segments.count == 3 {
            guard let session = WebRTCSessionID(parsing: segments[2]) else {
                return .failure(APIError(.notFound, code: "session_not_found", message: "No such \(kind.rawValue) session."))
            }
            let action: Action = switch method {
            case .DELETE: .end(session)
            case .OPTIONS: .preflight(allow: sessionMethods)
            default: .methodNotAllowed(method, allow: sessionMethods)
            }
            return .webRTC(WebRTCRequest(stream: stream, kind: kind, action: action))
        }
        switch method {
        case .POST:
            let rendition = APIRequest.query(of: uri)["rendition"] ?? ""
            guard kind == .whep || rendition.isEmpty else {
                return .failure(APIError(.badRequest, code: "bad_rendition", message: "A WHIP publish has no rendition."))
            }
            guard rendition.isEmpty || StreamChannel.Rendition(rawValue: rendition) != nil else {
                let names = StreamChannel.Rendition.allCases.map(\.rawValue).joined(separator: ", ")
                return .failure(APIError(.badRequest, code: "bad_rendition",
                                         message: "Unknown rendition '\(rendition.prefix(32))'; one of \(names), or none for the source."))
            }
            return .webRTC(WebRTCRequest(stream: stream, kind: kind, action: .create, rendition: rendition))
        case .OPTIONS:
            return .webRTC(WebRTCRequest(stream: stream, kind: kind, action: .preflight(allow: endpointMethods)))
        default:
            return .webRTC(WebRTCRequest(stream: stream, kind: kind, action: .methodNotAllowed(method, allow: endpointMethods)))
        }
    }

    /// Where a session created for this request lives: `/{id}/{kind}/{session}` (the `Location`).
    func location(of session: WebRTCSessionID) -> String {
        "/\(stream.rawValue)/\(kind.rawValue)/\(session.rawValue)"
    }
}

extension WebRTCRequest {
    /// The offer a `POST` carries: `application/sdp` (else 415), at most `maxOfferSize` bytes
    /// (else 413), an SDP that parses and that WebRTC can answer (else 400 with the parser's
    /// reason).
    static func offer(contentType: String?, body: ByteBuffer?, tooLarge: Bool) -> Result<WebRTCOffer, APIError> {
        guard !tooLarge else {
            return .failure(APIError(.payloadTooLarge, code: "body_too_large", message: "SDP offers are limited to \(maxOfferSize) bytes."))
        }
        let mediaType = contentType?.split(separator: ";", maxSplits: 1).first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard mediaType == "application/sdp" else {
            return .failure(APIError(.unsupportedMediaType, code: "unsupported_media_type",
                                     message: "The offer must be sent as Content-Type: application/sdp."))
        }
        guard let body, body.readableBytes > 0 else {
            return .failure(APIError(.badRequest, code: "bad_sdp", message: "The request has no SDP offer."))
        }
        do throws(SDPError) {
            return .success(try WebRTCOffer(SessionDescription(parsing: String(buffer: body))))
        } catch {
            return .failure(APIError(.badRequest, code: "bad_sdp", message: error.message))
        }
    }

    /// The answer to a session made (201 with the SDP answer, where it lives and its tag) or
    /// refused (the JSON error). A refusal for want of credentials is a 401 when none came, a
    /// 403 when the ones given were wrong.
    static func response(to result: Result<WebRTCSessionCreated, WebRTCRefusal>, of request: WebRTCRequest,
                         credentialGiven: Bool) -> APIResponse {
        switch result {
        case .success(let created):
            guard let session = WebRTCSessionID(parsing: created.sessionID) else {
                return .error(.internal(WebRTCMediaError("session id \(created.sessionID.prefix(64)) is not 32 hex digits")))
            }
            let headers: HTTPHeaders = ["Location": request.location(of: session), "Content-Type": "application/sdp",
                                        "ETag": "\"\(session.rawValue)\"", "Cache-Control": "no-store"]
            return APIResponse(status: .created, headers: headers, body: ByteBuffer(string: created.answer))
        case .failure(let refusal):
            var response = APIResponse.error(error(for: refusal, credentialGiven: credentialGiven))
            if response.status == .unauthorized { response.headers.add(name: "WWW-Authenticate", value: "Bearer") }
            return response
        }
    }

    /// The HTTP error of a refusal: 400, 401/403, 404, 409, 422 or 503.
    static func error(for refusal: WebRTCRefusal, credentialGiven: Bool) -> APIError {
        switch refusal.kind {
        case .badRequest: return APIError(.badRequest, code: "bad_offer", message: refusal.reason)
        case .unauthorized where credentialGiven: return APIError(.forbidden, code: "forbidden", message: refusal.reason)
        case .unauthorized: return APIError(.unauthorized, code: "unauthorized", message: refusal.reason)
        case .notFound: return APIError(.notFound, code: "stream_not_found", message: refusal.reason)
        case .conflict: return APIError(.conflict, code: "conflict", message: refusal.reason)
        case .unsupported: return APIError(.unprocessableEntity, code: "unsupported_media", message: refusal.reason)
        case .unavailable: return APIError(.serviceUnavailable, code: "unavailable", message: refusal.reason)
        }
    }
}

/// A WebRTC session's id as its resource URL carries it: exactly 32 hex digits (128 random
/// bits, made by the transport), lowercased. Anything else names no session.
struct WebRTCSessionID: Hashable, Sendable, CustomStringConvertible {
    let rawValue: String

    static let length = 32

    init?(parsing text: String) {
        guard text.utf8.count == Self.length,
              text.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0 | 0x20) })
        else { return nil }
        rawValue = text.lowercased()
    }

    var description: String { rawValue }
}
