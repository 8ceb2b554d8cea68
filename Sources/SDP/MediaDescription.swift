/// One media section: the `m=` line (RFC 8866 §5.14) and the lines after it up to the next.
public struct MediaDescription: Sendable, Equatable {
    /// The media type as written: `"audio"`, `"video"`, `"application"`…
    public var kind: String
    /// The transport port, 0…65535. Port 0 rejects or disables the section (RFC 3264 §6),
    /// except a `bundle-only` section in an offer (RFC 8843 §6).
    public var port: Int
    /// The `/<number of ports>` after the port, when written (1…65535).
    public var portCount: Int?
    /// The transport protocol (`"UDP/TLS/RTP/SAVPF"`).
    public var proto: String
    /// The media formats: RTP payload types as decimal text for RTP protocols.
    public var formats: [String]
    /// The section's lines other than attributes (`c=`, `b=`, `i=`, `k=`), in order.
    public var fields: [SDPField]
    /// The section's `a=` lines, in order.
    public var attributes: [SDPAttribute]

    /// The most formats an `m=` line may list (an RTP section can use only 128 payload types).
    static let maxFormats = 128

    public init(kind: String, port: Int, portCount: Int? = nil, proto: String, formats: [String],
                fields: [SDPField] = [], attributes: [SDPAttribute] = []) {
        self.kind = kind
        self.port = port
        self.portCount = portCount
        self.proto = proto
        self.formats = formats
        self.fields = fields
        self.attributes = attributes
    }

    /// Reads `<media> <port>[/<count>] <proto> <fmt> …`: a token for the media type and each
    /// format, a port within 0…65535, a count within 1…65535, at least one format.
    init(parsingMediaLine value: Substring) throws(SDPError) {
        let tokens = value.sdpTokens
        guard tokens.count >= 4 else { throw SDPError("m=\(String(value).sdpQuoted()) needs media, port, proto and a format") }
        guard tokens.count - 3 <= Self.maxFormats else { throw SDPError("m= lists more than \(Self.maxFormats) formats") }
        // Tokens, and "/" between the port and its count and between the protocol's parts.
        guard tokens.allSatisfy({ $0.utf8.allSatisfy { SDPAttribute.isTokenByte($0) || $0 == UInt8(ascii: "/") } }) else {
            throw SDPError("m=\(String(value).sdpQuoted()) has a character outside a token")
        }
        let portParts = tokens[1].split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let port = SDPNumber.port(portParts[0]) else { throw SDPError("m= port \(String(tokens[1]).sdpQuoted()) is not 0…65535") }
        var count: Int?
        if portParts.count == 2 {
            guard let parsed = SDPNumber.parse(portParts[1], in: 1...65_535) else {
                throw SDPError("m= port count \(String(tokens[1]).sdpQuoted()) is not 1…65535")
            }
            count = parsed
        }
        self.init(kind: String(tokens[0]), port: port, portCount: count, proto: String(tokens[2]),
                  formats: tokens[3...].map(String.init))
    }

    /// The `m=` line's text after `m=`.
    public var mediaLine: String {
        let port = portCount.map { "\(self.port)/\($0)" } ?? "\(self.port)"
        return ([kind, port, proto] + formats).joined(separator: " ")
    }

    /// The media type as a kind.
    public var mediaKind: SDPMediaKind { SDPMediaKind(mediaType: kind) }
}
