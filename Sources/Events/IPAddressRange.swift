/// A CIDR block: `10.0.0.0/8`, `fd00::/8`, or one address (`192.0.2.7`, a /32 or /128).
///
/// Parsing is strict: canonical addresses only (see `IPAddress`), a decimal prefix length
/// (no leading zeros) within the family's width, and no bits set past the prefix
/// (`10.0.0.1/8` is refused rather than quietly widened).
public struct IPAddressRange: Hashable, Sendable, CustomStringConvertible {
    /// The first address of the block.
    public let network: IPAddress
    /// Leading bits that are fixed: 0–32 for IPv4, 0–128 for IPv6.
    public let prefixLength: Int

    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else { return nil }
        let width = address.isIPv4 ? 32 : 128
        var length = width
        if parts.count == 2 {
            let digits = parts[1]
            guard (1...3).contains(digits.utf8.count), digits.utf8.allSatisfy({ (48...57).contains($0) }),
                  digits == "0" || !digits.hasPrefix("0"), let parsed = Int(digits), parsed <= width else { return nil }
            length = parsed
        }
        self.init(network: address, prefixLength: length)
        guard Self.masked(address, to: length) == address else { return nil }
    }

    /// The block of `prefixLength` leading bits of `network`, bits past them cleared;
    /// the length is clamped to the family's width.
    public init(network: IPAddress, prefixLength: Int) {
        let length = max(0, min(prefixLength, network.isIPv4 ? 32 : 128))
        self.network = Self.masked(network, to: length)
        self.prefixLength = length
    }

    public func contains(_ address: IPAddress) -> Bool {
        guard address.isIPv4 == network.isIPv4 else { return false }
        return Self.masked(address, to: prefixLength) == network
    }

    public var description: String { "\(network)/\(prefixLength)" }

    /// `address` with every bit past the first `length` cleared.
    static func masked(_ address: IPAddress, to length: Int) -> IPAddress {
        switch address {
        case .v4(let value):
            return .v4(length == 0 ? 0 : value & (UInt32.max << UInt32(32 - min(length, 32))))
        case .v6(let high, let low):
            return .v6(high: high & mask(bits: length), low: low & mask(bits: length - 64))
        }
    }

    /// A 64-bit mask of `bits` leading ones (none for 0 or less, all for 64 or more).
    private static func mask(bits: Int) -> UInt64 {
        if bits <= 0 { return 0 }
        if bits >= 64 { return .max }
        return UInt64.max << UInt64(64 - bits)
    }
}
