/// Scheme, host and port of an outgoing URL, read strictly so that what Sluice checks is what
/// its clients connect to: no whitespace, control characters, non-ASCII, backslashes or
/// percent signs in the authority, userinfo dropped, and a host that is an IP literal or an ASCII
/// DNS name (letters, digits, `-`, `_`; labels of 1–63, at most 253 in all).
public struct Destination: Sendable, Hashable {
    /// `http`, `https`, `rtmp` or `rtmps`, lowercased.
    public var scheme: String
    /// The host without brackets, lowercased.
    public var host: String
    public var port: Int
    /// The host as an address when it is an IP literal.
    public var address: IPAddress?
    /// Path and query (`/hooks?x=1`, or empty), without the fragment.
    public var target: String

    /// Longest URL accepted, as elsewhere in channel validation.
    public static let maxLength = 2048

    public init?(urlString: String) {
        guard urlString.utf8.count <= Self.maxLength, let separator = urlString.range(of: "://") else { return nil }
        let scheme = urlString[..<separator.lowerBound].lowercased()
        guard let defaultPort = DestinationPolicy.defaultPorts[scheme] else { return nil }
        let rest = urlString[separator.upperBound...]
        let authority = rest.prefix { !"/?#".contains($0) }
        // Only the authority decides where a connection goes; the path is the receiver's business.
        guard authority.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "\\") }) else { return nil }
        let hostAndPort = authority.lastIndex(of: "@").map { authority[authority.index(after: $0)...] } ?? authority
        guard !hostAndPort.contains("%"), let (host, port) = Self.split(hostAndPort) else { return nil }
        self.scheme = scheme
        self.host = host.lowercased()
        self.port = port ?? defaultPort
        address = IPAddress(self.host)
        target = String(rest[authority.endIndex...].prefix { $0 != "#" })
        guard address != nil || Self.isDNSName(self.host) else { return nil }
    }

    /// `scheme://host:port/path?query`: what a client is given once this was checked, so its
    /// own URL parser reads the same host (no userinfo, no fragment, nothing to read twice).
    public var normalizedURL: String { "\(scheme)://\(urlHost):\(port)\(target)" }

    /// The host as it goes in a URL: IPv6 literals in brackets.
    public var urlHost: String {
        if case .v6 = address { return "[\(host)]" }
        return host
    }

    /// `[v6]:port`, `[v6]`, `host:port` or `host`; nil for anything else.
    private static func split(_ authority: Substring) -> (Substring, Int?)? {
        var host = authority
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            guard after.isEmpty || after.hasPrefix(":") else { return nil }
            guard IPAddress(host).map({ !$0.isIPv4 }) == true else { return nil }
            if !after.isEmpty { portText = after.dropFirst() }
        } else if let colon = authority.firstIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        }
        guard !host.isEmpty else { return nil }
        guard let portText else { return (host, nil) }
        guard (1...5).contains(portText.utf8.count), portText.utf8.allSatisfy({ (48...57).contains($0) }),
              let port = Int(portText), (1...65535).contains(port) else { return nil }
        return (host, port)
    }

    /// Letters, digits, `-` and `_` in dot-separated labels of 1–63; one trailing dot allowed.
    public static func isDNSName(_ host: String) -> Bool {
        var name = Substring(host)
        if name.hasSuffix(".") { name = name.dropLast() }
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            (1...63).contains(label.utf8.count) && label.utf8.allSatisfy { byte in
                (48...57).contains(byte) || (97...122).contains(byte | 0x20) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            }
        }
    }
}
