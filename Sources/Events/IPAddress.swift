/// An IPv4 or IPv6 address, parsed from text without the network.
///
/// `init?(_:)` takes only the canonical forms (RFC 4291 §2.2 for IPv6, dotted quads of decimal
/// octets without leading zeros for IPv4); `init?(looseIPv4:)` also takes the shorthand forms
/// `inet_aton` and browsers accept (`127.1`, `0x7f.0.0.1`, `2130706433`), because a host name
/// in that shape reaches the same address through the resolver.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    /// The 128 bits as two halves, most significant first.
    case v6(high: UInt64, low: UInt64)

    /// Longest text either form can have (`ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255`).
    static let maxTextLength = 45

    public init?(_ text: some StringProtocol) {
        guard text.utf8.count <= Self.maxTextLength else { return nil }
        let bytes = Array(text.utf8)
        if bytes.contains(UInt8(ascii: ":")) {
            guard let (high, low) = Self.parseIPv6(bytes) else { return nil }
            self = .v6(high: high, low: low)
        } else {
            guard let value = Self.parseDottedQuad(bytes) else { return nil }
            self = .v4(value)
        }
    }

    /// IPv4 in any form `inet_aton` accepts: one to four parts, each decimal, octal (leading
    /// `0`) or hexadecimal (`0x`), the last filling the bytes left; one trailing dot allowed.
    public init?(looseIPv4 text: some StringProtocol) {
        guard !text.isEmpty, text.utf8.count <= 64 else { return nil }
        var parts = Substring(text).split(separator: ".", omittingEmptySubsequences: false)
        if parts.count > 1, parts.last?.isEmpty == true { parts.removeLast() }
        guard (1...4).contains(parts.count) else { return nil }
        var numbers: [UInt64] = []
        for part in parts {
            guard let number = Self.parseLooseNumber(part) else { return nil }
            numbers.append(number)
        }
        let last = numbers.removeLast()
        guard numbers.allSatisfy({ $0 <= 255 }), last < (UInt64(1) << (8 * (4 - numbers.count))) else { return nil }
        var value: UInt64 = 0
        for (index, number) in numbers.enumerated() { value |= number << (8 * (3 - index)) }
        self = .v4(UInt32(truncatingIfNeeded: value | last))
    }

    /// The address from `sockaddr_in.sin_addr` (network byte order in memory).
    public init(ipv4Bytes bytes: (UInt8, UInt8, UInt8, UInt8)) {
        self = .v4(UInt32(bytes.0) << 24 | UInt32(bytes.1) << 16 | UInt32(bytes.2) << 8 | UInt32(bytes.3))
    }

    /// The address from 16 bytes of `sin6_addr`; nil for another count.
    public init?(ipv6Bytes bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        let high = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let low = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        self = .v6(high: high, low: low)
    }

    public var isIPv4: Bool {
        if case .v4 = self { return true }
        return false
    }

    /// IPv4 as dotted quad; IPv6 in RFC 5952 form (lowercase, the longest zero run as `::`,
    /// IPv4-mapped addresses with a dotted tail).
    public var description: String {
        switch self {
        case .v4(let value):
            return [24, 16, 8, 0].map { String((value >> UInt32($0)) & 0xff) }.joined(separator: ".")
        case .v6(let high, let low):
            if high == 0, low >> 32 == 0xffff {
                return "::ffff:" + IPAddress.v4(UInt32(truncatingIfNeeded: low)).description
            }
            return Self.formatIPv6(groups: Self.groups(high: high, low: low))
        }
    }

    // MARK: Parsing

    private static func parseDottedQuad(_ bytes: some Collection<UInt8>) -> UInt32? {
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy(isDigit),
                  part.count == 1 || part.first != UInt8(ascii: "0") else { return nil }
            let octet = part.reduce(UInt32(0)) { $0 * 10 + UInt32($1 - UInt8(ascii: "0")) }
            guard octet <= 255 else { return nil }
            value = value << 8 | octet
        }
        return value
    }

    private static func parseIPv6(_ bytes: [UInt8]) -> (UInt64, UInt64)? {
        let colon = UInt8(ascii: ":")
        var head: [UInt16] = []
        var tail: [UInt16] = []
        var compressed = false
        var pieces = bytes.split(separator: colon, omittingEmptySubsequences: false)[...]
        // A leading or trailing `::` splits into two empty pieces; a lone `:` at either end is invalid.
        if pieces.first?.isEmpty == true {
            guard pieces.count > 2, pieces[pieces.startIndex + 1].isEmpty else { return nil }
            pieces.removeFirst()
        }
        if pieces.last?.isEmpty == true {
            guard pieces.count > 1, pieces[pieces.endIndex - 2].isEmpty else { return nil }
            pieces.removeLast()
        }
        for (index, piece) in zip(pieces.indices, pieces) {
            if piece.isEmpty {
                guard !compressed else { return nil }
                compressed = true
                continue
            }
            if index == pieces.endIndex - 1, piece.contains(UInt8(ascii: ".")) {
                guard let v4 = parseDottedQuad(piece) else { return nil }
                let groups = [UInt16(truncatingIfNeeded: v4 >> 16), UInt16(truncatingIfNeeded: v4)]
                if compressed { tail += groups } else { head += groups }
                continue
            }
            guard (1...4).contains(piece.count), piece.allSatisfy(isHexDigit) else { return nil }
            let group = piece.reduce(UInt16(0)) { $0 << 4 | UInt16(hexValue($1)) }
            if compressed { tail.append(group) } else { head.append(group) }
        }
        let count = head.count + tail.count
        guard compressed ? count <= 7 : count == 8 else { return nil }
        let groups = head + Array(repeating: 0, count: 8 - count) + tail
        let high = groups[0..<4].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        let low = groups[4..<8].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        return (high, low)
    }

    /// One part of a loose IPv4 address; nil when not a number or above 2³².
    private static func parseLooseNumber(_ part: Substring) -> UInt64? {
        var digits = part.utf8
        var radix: UInt64 = 10
        if digits.count >= 2, digits.first == UInt8(ascii: "0"),
           [UInt8(ascii: "x"), UInt8(ascii: "X")].contains(digits[digits.index(after: digits.startIndex)]) {
            radix = 16
            digits = digits.dropFirst(2)
        } else if digits.count >= 2, digits.first == UInt8(ascii: "0") {
            radix = 8
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty || radix == 16 else { return nil }
        var value: UInt64 = 0
        for byte in digits {
            guard isHexDigit(byte) else { return nil }
            let digit = UInt64(hexValue(byte))
            guard digit < radix else { return nil }
            value = value * radix + digit
            guard value <= UInt64(UInt32.max) else { return nil }
        }
        return value
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte | 0x20)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8 {
        isDigit(byte) ? byte - UInt8(ascii: "0") : (byte | 0x20) - UInt8(ascii: "a") + 10
    }

    // MARK: Formatting

    private static func groups(high: UInt64, low: UInt64) -> [UInt16] {
        [48, 32, 16, 0].map { UInt16(truncatingIfNeeded: high >> UInt64($0)) }
            + [48, 32, 16, 0].map { UInt16(truncatingIfNeeded: low >> UInt64($0)) }
    }

    private static func formatIPv6(groups: [UInt16]) -> String {
        var best = (start: -1, length: 1)
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else { index += 1; continue }
            let start = index
            while index < 8, groups[index] == 0 { index += 1 }
            if index - start > best.length { best = (start, index - start) }
        }
        let hex = groups.map { String($0, radix: 16) }
        guard best.start >= 0 else { return hex.joined(separator: ":") }
        let head = hex[..<best.start].joined(separator: ":")
        let tail = hex[(best.start + best.length)...].joined(separator: ":")
        return head + "::" + tail
    }
}
