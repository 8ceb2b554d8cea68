/// A client's request to publish or play, as the session reports it to the application.
public struct StreamRequest: Sendable, Hashable {
    /// The application from `connect` (the first path segment of the URL, e.g. `stream`).
    public var app: String
    /// The stream name without its query string (the `{id}` of `rtmp://HOST/stream/{id}`).
    public var name: String
    /// Query parameters from the stream name (and, for clients that put them there, from the
    /// app), e.g. `sign`.
    public var query: [String: String]
    /// `tcUrl` from `connect`.
    public var tcURL: String
    /// The publish type (`live`, `record`, `append`); empty for play.
    public var publishType: String

    public init(app: String, name: String, query: [String: String], tcURL: String, publishType: String = "") {
        self.app = app
        self.name = name
        self.query = query
        self.tcURL = tcURL
        self.publishType = publishType
    }

    /// Splits `name?key=value&…` into the name and its parameters.
    static func split(_ raw: String) -> (name: String, query: [String: String]) {
        guard let mark = raw.firstIndex(of: "?") else { return (raw, [:]) }
        var query: [String: String] = [:]
        for pair in raw[raw.index(after: mark)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard let key = parts.first else { continue }
            query[String(key)] = parts.count > 1 ? String(parts[1]) : ""
        }
        return (String(raw[..<mark]), query)
    }
}

/// The application's answer to a publish or play request.
public enum StreamDecision: Sendable, Hashable {
    case accept
    /// Refuse with an `onStatus` error code (e.g. `NetStream.Publish.Unauthorized`); the
    /// connection is closed after the status is sent.
    case reject(code: String, description: String)
}
