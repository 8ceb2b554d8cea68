/// One ICE candidate, `a=candidate:<foundation> <component> <transport> <priority> <address>
/// <port> typ <type> [raddr <a>] [rport <p>] *(<name> <value>)` (RFC 8839 §5.1; `tcptype`
/// from RFC 6544 §4.5).
public struct ICECandidateLine: Sendable, Equatable {
    /// 1–32 ICE characters.
    public var foundation: String
    /// 1…256; 1 is RTP (with rtcp-mux the only one).
    public var component: Int
    /// `"udp"` or `"tcp"` (lowercased when read).
    public var transport: String
    public var priority: UInt32
    /// An IP address or a hostname (browsers hide theirs behind mDNS `….local` names).
    public var address: String
    /// 0…65535 (TCP active candidates write 9).
    public var port: Int
    /// `"host"`, `"srflx"`, `"prflx"`, `"relay"`.
    public var type: String
    /// `"active"`, `"passive"` or `"so"` for TCP candidates.
    public var tcpType: String?
    public var relatedAddress: String?
    public var relatedPort: Int?
    /// Other name/value pairs after the type (`generation 0`, `network-id 1`…), in order.
    public var extensions: [SDPAttribute]

    /// The most extension pairs kept.
    static let maxExtensions = 16

    public init(foundation: String = "1", component: Int = 1, transport: String = "udp", priority: UInt32,
                address: String, port: Int, type: String = "host", tcpType: String? = nil,
                relatedAddress: String? = nil, relatedPort: Int? = nil, extensions: [SDPAttribute] = []) {
        self.foundation = foundation
        self.component = component
        self.transport = transport
        self.priority = priority
        self.address = address
        self.port = port
        self.type = type
        self.tcpType = tcpType
        self.relatedAddress = relatedAddress
        self.relatedPort = relatedPort
        self.extensions = extensions
    }

    /// The priority formula of RFC 8445 §5.1.2.1: type preference (126 host, 110 prflx, 100 srflx,
    /// 0 relay; 0…126), local preference (0…65535), component (1…256).
    public static func priority(typePreference: UInt32, localPreference: UInt32, component: Int) -> UInt32 {
        let type = min(typePreference, 126) << 24
        let local = min(localPreference, 65_535) << 8
        let componentPart = UInt32(256 - min(max(component, 1), 256))
        return type | local | componentPart
    }

    /// The attribute's value, without `candidate:`.
    public var attributeValue: String {
        var parts = [foundation, "\(component)", transport, "\(priority)", address, "\(port)", "typ", type]
        if let relatedAddress { parts += ["raddr", relatedAddress] }
        if let relatedPort { parts += ["rport", "\(relatedPort)"] }
        if let tcpType { parts += ["tcptype", tcpType] }
        for pair in extensions { parts += [pair.name, pair.value ?? ""] }
        return parts.joined(separator: " ")
    }
}

extension ICECandidateLine {
    /// Reads a candidate attribute's value (a leading `candidate:`, as JavaScript writes it, is
    /// skipped). Throws for a missing field, a number out of range or a foundation that is not
    /// 1–32 ICE characters.
    public init(parsing attributeValue: String) throws(SDPError) {
        var text = Substring(attributeValue)
        if text.hasPrefix("a=") { text = text.dropFirst(2) }
        if text.hasPrefix("candidate:") { text = text.dropFirst("candidate:".count) }
        let tokens = text.sdpTokens
        guard tokens.count >= 8, tokens.count <= 8 + 2 * (Self.maxExtensions + 3), tokens[6] == "typ" else {
            throw SDPError("candidate \(attributeValue.sdpQuoted()) is not <foundation> <component> <transport> <priority> <address> <port> typ <type>")
        }
        guard (1...32).contains(tokens[0].utf8.count), tokens[0].utf8.allSatisfy(ICECredentials.isICEChar) else {
            throw SDPError("candidate foundation \(String(tokens[0]).sdpQuoted()) is not 1–32 ICE characters")
        }
        guard let component = SDPNumber.parse(tokens[1], in: 1...256),
              let priority = SDPNumber.uint32(tokens[3]), let port = SDPNumber.port(tokens[5]) else {
            throw SDPError("candidate \(attributeValue.sdpQuoted()): component, priority or port out of range")
        }
        guard !tokens[4].isEmpty, tokens[4].utf8.count <= 255, tokens[7].utf8.allSatisfy(SDPAttribute.isTokenByte) else {
            throw SDPError("candidate \(attributeValue.sdpQuoted()): address or type is not valid")
        }
        self.init(foundation: String(tokens[0]), component: component, transport: tokens[2].lowercased(),
                  priority: priority, address: String(tokens[4]), port: port, type: String(tokens[7]))
        try readExtensions(tokens[8...])
    }

    private mutating func readExtensions(_ tokens: ArraySlice<Substring>) throws(SDPError) {
        guard tokens.count % 2 == 0 else { throw SDPError("candidate extension without a value") }
        var index = tokens.startIndex
        while index < tokens.endIndex {
            let name = tokens[index], value = tokens[index + 1]
            index += 2
            switch name {
            case "raddr": relatedAddress = String(value)
            case "rport":
                guard let port = SDPNumber.port(value) else { throw SDPError("candidate rport is not 0…65535") }
                relatedPort = port
            case "tcptype": tcpType = String(value)
            default:
                guard extensions.count < Self.maxExtensions else { throw SDPError("candidate has too many extensions") }
                extensions.append(SDPAttribute(name: String(name), value: String(value)))
            }
        }
    }
}
