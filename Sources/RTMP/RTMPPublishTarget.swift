import Foundation

/// Where a client publishes: `rtmp://host[:port]/app[/instance]/streamKey[?query]` or the same
/// with `rtmps://`. The app is everything between the host and the last path segment; the
/// stream name is the last segment with the query kept (servers read keys from both).
/// Its description hides the stream key.
public struct RTMPPublishTarget: Sendable, Hashable, CustomStringConvertible {
    public var secure: Bool
    public var host: String
    /// 1935 for `rtmp://`, 443 for `rtmps://` unless the URL says otherwise.
    public var port: Int
    public var app: String
    /// The name `publish` carries: stream key and query.
    public var streamName: String

    public init?(url: String) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              scheme == "rtmp" || scheme == "rtmps", let host = components.host, !host.isEmpty else { return nil }
        let segments = components.percentEncodedPath.split(separator: "/", omittingEmptySubsequences: true)
        guard segments.count >= 2 else { return nil }
        secure = scheme == "rtmps"
        self.host = host
        port = components.port ?? (secure ? 443 : 1935)
        app = segments.dropLast().joined(separator: "/")
        let key = String(segments.last!)
        streamName = components.percentEncodedQuery.map { "\(key)?\($0)" } ?? key
    }

    /// The `tcUrl` of the connect command: scheme, host, port and app.
    public var tcURL: String {
        "\(secure ? "rtmps" : "rtmp")://\(host):\(port)/\(app)"
    }

    /// The destination without any of the stream key: shown to every API scope and logged.
    public var description: String {
        "\(tcURL)/…"
    }
}
