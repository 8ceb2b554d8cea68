/// One `a=` line: `a=<name>` (a flag such as `rtcp-mux`) or `a=<name>:<value>` (RFC 8866 §5.13).
public struct SDPAttribute: Sendable, Equatable {
    /// The attribute name, as written (names are compared exactly).
    public var name: String
    /// The text after the first `:`, or nil for a flag attribute.
    public var value: String?

    public init(name: String, value: String? = nil) {
        self.name = name
        self.value = value
    }

    /// Reads the text after `a=`. The name is an RFC 8866 token: non-empty, without spaces.
    init(parsing text: Substring) throws(SDPError) {
        let parts = text.sdpSplit(at: UInt8(ascii: ":"))
        let name = parts?.head ?? text
        guard !name.isEmpty, name.utf8.allSatisfy(SDPAttribute.isTokenByte) else {
            throw SDPError("attribute name \(String(name).sdpQuoted()) is not a token")
        }
        self.name = String(name)
        self.value = parts.map { String($0.tail) }
    }

    /// The line's text after `a=`.
    public var lineValue: String {
        value.map { "\(name):\($0)" } ?? name
    }

    /// RFC 8866 §9 `token-char`: visible ASCII except the separators it excludes.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x21, 0x23...0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x30...0x39, 0x41...0x5A, 0x5E...0x7E: true
        default: false
        }
    }
}

extension Array where Element == SDPAttribute {
    /// The value of the first attribute called `name` ("" for a flag), or nil when there is none.
    public func value(named name: String) -> String? {
        first { $0.name == name }.map { $0.value ?? "" }
    }

    /// The values of every attribute called `name`, in order ("" for flags).
    public func values(named name: String) -> [String] {
        filter { $0.name == name }.map { $0.value ?? "" }
    }

    /// Whether an attribute called `name` is present.
    public func contains(named name: String) -> Bool {
        contains { $0.name == name }
    }
}
