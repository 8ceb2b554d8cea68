/// What an SRT caller asks for, read from its `streamid` (the SRT socket option `SRTO_STREAMID`,
/// at most 512 bytes), before anything logs or looks it up.
///
/// Accepted forms (`{id}` a stream id, `{sign}` a push signature `{exp}-{md5hex}` over
/// `/stream/{id}` exactly as for RTMP, `{token}` a signed play URL's `{expires}-{hex}`):
///
/// - `#!::r=stream/{id},m=publish,s={sign}`: the access-control syntax of the SRT
///   documentation (docs/features/access-control.md): `#!::` then comma-separated `key=value`.
///   `r` is the resource (`{id}` or `stream/{id}`), `m` the mode (`publish`, or `request`, the
///   default, to play), `s` the push signature, `t` the play token (or the spec's type `stream`,
///   which is ignored); `u`, `h` and any other key are ignored. A key given twice is refused.
/// - `#!::r=stream/{id},m=request[,t={token}]`: play.
/// - `publish:stream/{id}?sign={sign}` (also `publish:{id}?…`): publish, the short form other
///   servers take. `read:stream/{id}[?expires=…&token=…]` and `play:…`: play.
/// - `stream/{id}?sign={sign}` (or `{id}?sign=…`): publish when it carries `sign`, play otherwise.
///
/// The query of the short forms is `key=value&…`, as in a push or play URL.
public struct SRTStreamID: Sendable, Hashable {
    public enum Mode: String, Sendable, Hashable {
        case publish
        case play
    }

    /// Why a streamid was refused; `message` is safe to log and to tell the caller.
    public struct Malformed: Error, Sendable, Hashable {
        public var message: String
    }

    /// Longest streamid accepted, bytes: libsrt's own limit (`SRT_STREAMID_MAX`).
    public static let maxBytes = 512
    /// Longest stream id, bytes (as `StreamID`).
    public static let maxNameBytes = 128

    public var mode: Mode
    /// The application the resource names (`stream`), nil when it names only the stream.
    public var app: String?
    /// The stream id as sent (made canonical by whoever looks it up).
    public var name: String
    /// What a push or play URL's query would carry: `sign` for a publish; `expires` and
    /// `token` for a signed play.
    public var query: [String: String]

    public init(mode: Mode, app: String? = "stream", name: String, query: [String: String] = [:]) {
        self.mode = mode
        self.app = app
        self.name = name
        self.query = query
    }

    public init(parsing raw: String) throws(Malformed) {
        let bytes = raw.utf8
        guard !bytes.isEmpty else { throw Malformed(message: "The streamid is empty.") }
        guard bytes.count <= Self.maxBytes else { throw Malformed(message: "The streamid is longer than \(Self.maxBytes) bytes.") }
        guard bytes.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw Malformed(message: "The streamid has a space or a character that is not printable ASCII.")
        }
        if raw.hasPrefix("#!") {
            self = try Self.accessControl(raw)
        } else {
            self = try Self.shortForm(raw)
        }
    }

    /// The streamid in the access-control syntax, which reads back as this value.
    public var accessControlText: String {
        var fields = ["r=" + (app.map { "\($0)/" } ?? "") + name, "m=" + (mode == .publish ? "publish" : "request")]
        if let sign = query["sign"] { fields.append("s=" + sign) }
        if let expires = query["expires"], let token = query["token"], !expires.isEmpty, !token.isEmpty {
            fields.append("t=\(expires)-\(token)")
        }
        return "#!::" + fields.joined(separator: ",")
    }

    /// `#!::key=value,…`.
    private static func accessControl(_ raw: String) throws(Malformed) -> SRTStreamID {
        guard raw.hasPrefix("#!::") else {
            throw Malformed(message: "An access-control streamid starts with '#!::'.")
        }
        var fields: [String: String] = [:]
        for item in raw.dropFirst(4).split(separator: ",", omittingEmptySubsequences: false) {
            guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
                throw Malformed(message: "Each streamid field is key=value.")
            }
            let key = String(item[..<equals])
            guard fields.updateValue(String(item[item.index(after: equals)...]), forKey: key) == nil else {
                throw Malformed(message: "The streamid gives '\(key.prefix(8))' twice.")
            }
        }
        guard let resource = fields["r"] else { throw Malformed(message: "The streamid names no resource (r=stream/{id}).") }
        let (app, name) = try Self.resource(Substring(resource))
        var query: [String: String] = [:]
        let mode: Mode
        switch fields["m"]?.lowercased() {
        case "publish":
            mode = .publish
            query["sign"] = fields["s"]
        case "request", nil:
            mode = .play
            if let token = fields["t"], !["stream", "file", "auth"].contains(token) {
                let (expires, mac) = try Self.playToken(token)
                query["expires"] = expires
                query["token"] = mac
            }
        default:
            throw Malformed(message: "The streamid's mode (m) is neither publish nor request.")
        }
        return SRTStreamID(mode: mode, app: app, name: name, query: query)
    }

    /// `[publish:|read:|play:][{app}/]{id}[?query]`.
    private static func shortForm(_ raw: String) throws(Malformed) -> SRTStreamID {
        var rest = Substring(raw)
        let named = [("publish:", Mode.publish), ("read:", .play), ("play:", .play)].first { rest.hasPrefix($0.0) }
        if let named { rest = rest.dropFirst(named.0.count) }
        let mark = rest.firstIndex(of: "?") ?? rest.endIndex
        let (app, name) = try Self.resource(rest[..<mark])
        let query = mark == rest.endIndex ? [:] : try Self.query(rest[rest.index(after: mark)...])
        return SRTStreamID(mode: named?.1 ?? (query["sign"] != nil ? .publish : .play), app: app, name: name, query: query)
    }

    /// `{id}` or `{app}/{id}`, each 1…`maxNameBytes` bytes of a stream id's characters
    /// (`A–Z a–z 0–9 - _ .`).
    private static func resource(_ text: Substring) throws(Malformed) -> (app: String?, name: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let name = parts.last,
              parts.allSatisfy({ (1...maxNameBytes).contains($0.utf8.count) && $0.utf8.allSatisfy(isNameByte) }) else {
            throw Malformed(message: "The streamid's resource is not {id} or stream/{id}.")
        }
        return (parts.count == 2 ? String(parts[0]) : nil, String(name))
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
            return true
        default:
            return false
        }
    }

    /// `key=value&…`; a key given twice is refused, an empty item skipped.
    private static func query(_ text: Substring) throws(Malformed) -> [String: String] {
        var query: [String: String] = [:]
        for item in text.split(separator: "&") {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard !pair[0].isEmpty else { throw Malformed(message: "The streamid's query has an empty key.") }
            guard query.updateValue(pair.count == 2 ? String(pair[1]) : "", forKey: String(pair[0])) == nil else {
                throw Malformed(message: "The streamid's query gives '\(pair[0].prefix(8))' twice.")
            }
        }
        return query
    }

    /// `{expires}-{token}`: the two halves of a signed play URL's query.
    private static func playToken(_ text: String) throws(Malformed) -> (expires: String, token: String) {
        let parts = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { throw Malformed(message: "The play token (t) is not {expires}-{token}.") }
        return (String(parts[0]), String(parts[1]))
    }
}
