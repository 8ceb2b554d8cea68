import NIOCore
import NIOHTTP1

/// The headers every HTTP answer carries, in one place: CORS (any origin may play streams and
/// call the API; the API is guarded by its bearer tokens, not by origin), caching (`no-cache`
/// unless the answer says otherwise) and the connection's fate. Security headers stay with the
/// answers that need them (the console's `ConsolePage.headers`): a player's media is fetched
/// across origins and must not be restricted.
enum ResponseHeaders {
    static let cors: HTTPHeaders = [
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE",
        "Access-Control-Allow-Headers": "Authorization, Content-Type, If-Match, If-None-Match, Range",
        "Access-Control-Expose-Headers": "ETag, Location, Content-Range, Content-Length",
    ]

    /// CORS of every WHEP and WHIP answer (RFC 9725 §4.8: browsers publish and play from other
    /// origins, read the `Location` of the session they made and end it with DELETE).
    static let webRTC: HTTPHeaders = [
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": "POST, DELETE, PATCH, OPTIONS",
        "Access-Control-Allow-Headers": "Authorization, Content-Type, If-Match",
        "Access-Control-Expose-Headers": "Location, ETag, Link",
    ]

    /// How long a browser may reuse a WHEP or WHIP preflight's answer, seconds.
    static let webRTCPreflightMaxAge = 86_400

    /// The headers of an answer with a known end: `extra` (the answer's own, which win), then
    /// caching, CORS, the length (nil: none, as for 304) and `Connection`. A HEAD answer says the
    /// length a GET would have (RFC 9110 §9.3.2).
    static func complete(_ extra: HTTPHeaders, contentLength: Int?, keepAlive: Bool) -> HTTPHeaders {
        var headers = common(extra)
        if let contentLength { headers.add(name: "Content-Length", value: "\(contentLength)") }
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        return headers
    }

    /// The headers of an answer that lasts as long as its connection (server-sent events,
    /// HTTP-FLV): no length, and the connection closes when the answer ends.
    static func streaming(_ extra: HTTPHeaders) -> HTTPHeaders {
        var headers = common(extra)
        headers.add(name: "Connection", value: "close")
        return headers
    }

    /// The head of an HTTP-FLV answer; the fan-out writes the body to the socket itself.
    static let flvHead = HTTPResponseHead(version: .http1_1, status: .ok,
                                          headers: streaming(["Content-Type": "video/x-flv"]))

    /// `head` as HTTP/1.1 bytes (RFC 9112 §4, §5), for a connection whose HTTP codec has left.
    static func bytes(of head: HTTPResponseHead) -> ByteBuffer {
        var text = "HTTP/\(head.version.major).\(head.version.minor) \(head.status.code) \(head.status.reasonPhrase)\r\n"
        for (name, value) in head.headers { text += "\(name): \(value)\r\n" }
        return ByteBuffer(string: text + "\r\n")
    }

    private static func common(_ extra: HTTPHeaders) -> HTTPHeaders {
        var headers = extra
        if !headers.contains(name: "Cache-Control") { headers.add(name: "Cache-Control", value: "no-cache") }
        for (name, value) in cors where !headers.contains(name: name) { headers.add(name: name, value: value) }
        return headers
    }
}
