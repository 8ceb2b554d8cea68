import Media

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

    /// Longest stream name accepted, UTF-8 bytes (the `{id}`, without the query).
    public static let maxNameBytes = 128
    /// Longest query accepted after the `?`, bytes: ample for `sign={exp}-{md5hex}` (43 bytes)
    /// and an admission token or two.
    public static let maxQueryBytes = 1024

    /// Checks a publish or play name as the peer sent it (`{id}?key=value&…`) and splits it,
    /// before anything logs, announces or looks it up: the name is 1…`maxNameBytes` bytes of
    /// RFC 3986 unreserved characters (`A–Z a–z 0–9 - . _ ~`), the query at most `maxQueryBytes`
    /// of visible ASCII.
    /// - Throws: `RTMPError.invalidStreamName`, whose context shows only `loggable(raw)`.
    static func validated(_ raw: String) throws(RTMPError) -> (name: String, query: [String: String]) {
        let bytes = raw.utf8
        let mark = bytes.firstIndex(of: UInt8(ascii: "?")) ?? bytes.endIndex
        let name = bytes[..<mark]
        let query = mark == bytes.endIndex ? bytes[mark...] : bytes[bytes.index(after: mark)...]
        guard (1...maxNameBytes).contains(name.count), name.allSatisfy(isUnreserved),
              query.count <= maxQueryBytes, query.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw RTMPError(.invalidStreamName, "stream name \(loggable(raw)) is not 1–\(maxNameBytes) bytes of "
                + "A–Z a–z 0–9 - . _ ~ with a query of at most \(maxQueryBytes) printable bytes")
        }
        return split(raw)
    }

    /// `raw` as it may appear in a log line or a status description: its first `limit` bytes,
    /// quoted, with anything but printable ASCII (and `"` and `\`) escaped as `\xNN`, and the full
    /// length noted when it was cut.
    public static func loggable(_ raw: String, limit: Int = 64) -> String {
        var text = "\""
        for byte in raw.utf8.prefix(limit) {
            if (0x20...0x7E).contains(byte), byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
                text.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                text += "\\x" + Hex.encode([byte])
            }
        }
        text += "\""
        let count = raw.utf8.count
        return count > limit ? text + "… (\(count) bytes)" : text
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
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
