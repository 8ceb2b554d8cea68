/// `a=ssrc:<ssrc> <attribute>[:<value>]` (RFC 5576 §4.1), e.g. `a=ssrc:1234 cname:abc`.
public struct SDPSSRCAttribute: Sendable, Equatable {
    public var ssrc: UInt32
    /// `"cname"`, `"msid"`…
    public var name: String
    public var value: String?

    public init(ssrc: UInt32, name: String, value: String? = nil) {
        self.ssrc = ssrc
        self.name = name
        self.value = value
    }

    /// Reads the attribute's value; nil when the SSRC is not 0…2^32-1 or the name is missing.
    public init?(attributeValue: String) {
        guard let (number, rest) = Substring(attributeValue).sdpSplit(at: UInt8(ascii: " ")),
              let ssrc = SDPNumber.uint32(number) else { return nil }
        let parts = rest.sdpSplit(at: UInt8(ascii: ":"))
        let name = parts?.head ?? rest
        guard !name.isEmpty else { return nil }
        self.init(ssrc: ssrc, name: String(name), value: parts.map { String($0.tail) })
    }

    public var attributeValue: String {
        "\(ssrc) \(name)" + (value.map { ":\($0)" } ?? "")
    }
}

/// `a=ssrc-group:<semantics> <ssrc> …` (RFC 5576 §4.2), e.g. `FID 1234 5678`: the first SSRC is
/// the media stream, the others its retransmission (RFC 4588) or FEC streams.
public struct SDPSSRCGroup: Sendable, Equatable {
    /// `"FID"`, `"FEC-FR"`, `"SIM"`…
    public var semantics: String
    /// 1…32 SSRCs.
    public var ssrcs: [UInt32]

    static let maxSSRCs = 32

    public init(semantics: String, ssrcs: [UInt32]) {
        self.semantics = semantics
        self.ssrcs = ssrcs
    }

    /// Reads the attribute's value; nil when an SSRC does not parse or there are none or too many.
    public init?(attributeValue: String) {
        let tokens = Substring(attributeValue).sdpTokens
        guard tokens.count >= 2, tokens.count - 1 <= Self.maxSSRCs else { return nil }
        var ssrcs: [UInt32] = []
        for token in tokens.dropFirst() {
            guard let ssrc = SDPNumber.uint32(token) else { return nil }
            ssrcs.append(ssrc)
        }
        self.init(semantics: String(tokens[0]), ssrcs: ssrcs)
    }
}
