/// A certificate fingerprint, `a=fingerprint:sha-256 AB:CD:…` (RFC 8122 §5): the hash function
/// and the digest of the peer's DTLS certificate (RFC 5763 §5, RFC 8842 §5).
public struct SDPFingerprint: Sendable, Equatable {
    /// The hash function's name, lowercased (`"sha-256"`).
    public var algorithm: String
    /// The digest (32 bytes for sha-256).
    public var bytes: [UInt8]

    /// The most digest bytes read (sha-512 has 64).
    static let maxBytes = 64

    public init(algorithm: String, bytes: [UInt8]) {
        self.algorithm = algorithm.lowercased()
        self.bytes = bytes
    }

    /// Reads `<hash-func> SP <hex pairs joined by ":">`; nil when the text is not that, or the
    /// digest is empty or longer than 64 bytes.
    public init?(attributeValue: String) {
        let tokens = Substring(attributeValue).sdpTokens
        guard tokens.count == 2, tokens[0].utf8.allSatisfy(SDPAttribute.isTokenByte) else { return nil }
        let pairs = tokens[1].split(separator: ":", omittingEmptySubsequences: false)
        guard (1...Self.maxBytes).contains(pairs.count) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(pairs.count)
        for pair in pairs {
            guard pair.utf8.count == 2, let byte = UInt8(pair, radix: 16) else { return nil }
            bytes.append(byte)
        }
        self.init(algorithm: String(tokens[0]), bytes: bytes)
    }

    /// `sha-256 AB:CD:…`, uppercase hex, as browsers write it.
    public var attributeValue: String {
        "\(algorithm) " + bytes.map { hexByte($0) }.joined(separator: ":")
    }

    /// Whether this is a SHA-256 digest of the right length (what WebRTC endpoints must support,
    /// RFC 8827 §6.5).
    public var isSHA256: Bool {
        algorithm == "sha-256" && bytes.count == 32
    }

    private func hexByte(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }
}
