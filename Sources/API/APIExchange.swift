import Foundation
import NIOCore
import NIOHTTP1

/// An API request with its body read (bounded) and its path split.
public struct APIRequest: Sendable {
    public var method: HTTPMethod
    /// Path segments, e.g. `["api", "v1", "channels", "…"]`.
    public var path: [String]
    public var query: [String: String]
    public var headers: HTTPHeaders
    public var body: ByteBuffer?

    public init(method: HTTPMethod, uri: String, headers: HTTPHeaders = [:], body: ByteBuffer? = nil) {
        self.method = method
        let parts = uri.split(separator: "?", maxSplits: 1).map(String.init)
        path = Self.segments(of: parts.first ?? "")
        query = Self.query(of: uri)
        self.headers = headers
        self.body = body
    }

    /// A path's segments, percent-decoded; empty segments are left out.
    static func segments(of path: String) -> [String] {
        path.utf8.split(separator: UInt8(ascii: "/")).map { decoded(Substring($0)) }
    }

    /// `text` percent-decoded (as itself when it has no valid escapes). Foundation's decoding
    /// costs microseconds even on text without escapes (a playlist reload's query is parsed on
    /// every request), so text without a `%` is taken as it is.
    static func decoded(_ text: Substring) -> String {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return String(text) }
        return String(text).removingPercentEncoding ?? String(text)
    }

    /// The query of a request URI, percent-decoded; a repeated name keeps its last value.
    static func query(of uri: String) -> [String: String] {
        // Split on bytes: splitting a String on a Character walks grapheme clusters, which cost
        // more than the rest of a playlist reload's parsing.
        guard let mark = uri.utf8.firstIndex(of: UInt8(ascii: "?")) else { return [:] }
        var query: [String: String] = [:]
        for pair in uri.utf8[uri.utf8.index(after: mark)...].split(separator: UInt8(ascii: "&")) {
            if let equals = pair.firstIndex(of: UInt8(ascii: "=")) {
                query[decoded(Substring(pair[..<equals]))] = decoded(Substring(pair[pair.index(after: equals)...]))
            } else {
                query[decoded(Substring(pair))] = ""
            }
        }
        return query
    }
}

/// What an API handler answers.
public struct APIResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: ByteBuffer?
    /// Server-sent events that follow the head instead of a body.
    public var events: EventFeed?
    /// A stored file (an asset-store location) sent after the head instead of a body: from
    /// disk with `sendfile` (byte ranges from the request's `Range`), never read into memory.
    public var storedFile: String?
    /// A failure inside the server this answers, for the router to log under its request id.
    var failure: APIError?

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: ByteBuffer? = nil, events: EventFeed? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.events = events
    }

    static func json<T: Encodable>(_ value: T, status: HTTPResponseStatus = .ok, headers: HTTPHeaders = [:])
        -> APIResponse {
        let data: Data
        do {
            data = try ChannelJSON.encoder.encode(value)
        } catch {
            return Self.error(.internal(error))
        }
        var headers = headers
        headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        return APIResponse(status: status, headers: headers, body: ByteBuffer(bytes: data))
    }

    static func error(_ error: APIError) -> APIResponse {
        var response = APIResponse(status: error.status, headers: ["Content-Type": "application/json"], body: error.body)
        if let id = error.requestID {
            response.headers.add(name: "X-Request-ID", value: id)
            response.failure = error
        }
        return response
    }
}

/// A response that goes on after its head: server-sent events (`text/event-stream`), one
/// `next()` every `interval` until it returns nil or the client goes away.
public struct EventFeed: Sendable {
    public var interval: Duration
    /// The next event's text, already framed (`data: …\n\n`).
    public var next: @Sendable () async -> String?

    public init(interval: Duration, next: @escaping @Sendable () async -> String?) {
        self.interval = interval
        self.next = next
    }
}
