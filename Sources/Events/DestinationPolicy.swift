/// Which addresses Sluice may connect to on an API user's behalf: webhook receivers,
/// admission hooks and relay destinations (server-side request forgery, CWE-918).
///
/// Two groups are refused. Link-local, cloud metadata, "this network", multicast and
/// reserved/broadcast addresses are refused always. Loopback, private (RFC 1918, RFC 4193),
/// site-local and shared (CGNAT, RFC 6598) addresses are refused unless `allowed` holds them
/// (`--allow-destination`). IPv6 forms that carry an IPv4 address (mapped `::ffff:0:0/96`,
/// compatible `::/96`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by that address.
///
/// Everything here is pure: `validate(urlString:)` reads a URL without the network. Names are
/// judged after resolution, on the address actually connected to.
public struct DestinationPolicy: Sendable, Hashable {
    public enum Reason: String, Sendable, Hashable {
        case malformed
        case unspecified
        case linkLocal
        case cloudMetadata
        case multicast
        case reserved
        case loopback
        case privateNetwork
        case sharedAddressSpace

        /// Whether an allow-list may lift it.
        public var isLiftable: Bool { [.loopback, .privateNetwork, .sharedAddressSpace].contains(self) }

        public var text: String {
            switch self {
            case .malformed: return "an unusable URL"
            case .unspecified: return "an unspecified address"
            case .linkLocal: return "a link-local address"
            case .cloudMetadata: return "a cloud metadata address"
            case .multicast: return "a multicast address"
            case .reserved: return "a reserved or broadcast address"
            case .loopback: return "a loopback address"
            case .privateNetwork: return "a private address"
            case .sharedAddressSpace: return "a shared (CGNAT) address"
            }
        }
    }

    /// Blocks whose loopback, private and shared addresses may be connected to.
    public let allowed: [IPAddressRange]

    public init(allowing allowed: [IPAddressRange] = []) {
        self.allowed = allowed
    }

    /// Refuses only what no allow-list lifts: the floor every stored URL must clear.
    public static let alwaysRefusedOnly = DestinationPolicy(allowing: [IPAddressRange(network: .v4(0), prefixLength: 0),
                                                                       IPAddressRange(network: .v6(high: 0, low: 0), prefixLength: 0)])

    /// Schemes Sluice connects out with, and their default ports.
    public static let defaultPorts = ["http": 80, "https": 443, "rtmp": 1935, "rtmps": 443]

    // MARK: Addresses

    /// Why `address` may not be connected to; nil when it may.
    public func refusal(of address: IPAddress) -> DestinationRefusal? {
        guard let reason = Self.reason(for: address) else { return nil }
        if reason.isLiftable {
            let embedded = Self.embeddedIPv4(address)
            let lifted = allowed.contains { $0.contains(address) || embedded.map($0.contains) == true }
            if lifted { return nil }
        }
        return DestinationRefusal(host: address.description, reason: reason)
    }

    /// The group `address` falls in, allow-list aside; nil for an ordinary public address.
    public static func reason(for address: IPAddress) -> Reason? {
        if let reason = alwaysRefused.first(where: { $0.range.contains(address) })?.reason { return reason }
        if let reason = refusedUnlessAllowed.first(where: { $0.range.contains(address) })?.reason { return reason }
        return embeddedIPv4(address).flatMap { reason(for: $0) }
    }

    /// The IPv4 address an IPv6 address stands for, in the forms that reach IPv4 hosts.
    public static func embeddedIPv4(_ address: IPAddress) -> IPAddress? {
        guard case .v6(let high, let low) = address else { return nil }
        let last32 = IPAddress.v4(UInt32(truncatingIfNeeded: low))
        if high == 0, low >> 32 == 0xffff { return last32 }                    // ::ffff:a.b.c.d, mapped
        if high == 0, low >> 32 == 0 { return last32 }                         // ::a.b.c.d, compatible
        if high == 0x0064_ff9b_0000_0000, low >> 32 == 0 { return last32 }     // 64:ff9b::a.b.c.d, NAT64
        if high >> 48 == 0x2002 { return .v4(UInt32(truncatingIfNeeded: high >> 16)) }  // 2002:AABB:CCDD::, 6to4
        return nil
    }

    // MARK: Hosts and URLs

    /// The refusal of a host as written in a URL, before any lookup: IP literals (also the
    /// shorthand IPv4 forms a resolver reads as addresses) and `localhost` names. Other names
    /// pass here; they are judged on their addresses when connected to.
    public func refusal(ofHost host: String) -> DestinationRefusal? {
        var bare = host.lowercased()
        if bare.hasPrefix("["), bare.hasSuffix("]") { bare = String(bare.dropFirst().dropLast()) }
        if let address = IPAddress(bare) ?? IPAddress(looseIPv4: bare) { return refusal(of: address) }
        if bare.hasSuffix(".") { bare.removeLast() }
        guard bare == "localhost" || bare.hasSuffix(".localhost") else { return nil }
        // Resolvers answer these names with 127.0.0.1 and ::1 (RFC 6761 §6.3) without asking DNS.
        if refusal(of: .v4(0x7f00_0001)) == nil || refusal(of: .v6(high: 0, low: 1)) == nil { return nil }
        return DestinationRefusal(host: bare, reason: .loopback)
    }

    /// Reads `urlString` (scheme `http`, `https`, `rtmp` or `rtmps`) without the network and
    /// judges its host: a refusal for a malformed URL, a refused literal or `localhost`; the
    /// destination otherwise (a name is still to be resolved and judged when connected to).
    public func validate(urlString: String) -> Result<Destination, DestinationRefusal> {
        guard let destination = Destination(urlString: urlString) else {
            return .failure(DestinationRefusal(host: "", reason: .malformed))
        }
        if let refusal = refusal(ofHost: destination.host) { return .failure(refusal) }
        return .success(destination)
    }

    // MARK: Tables

    private struct Entry: Sendable {
        var range: IPAddressRange
        var reason: Reason

        init(_ cidr: String, _ reason: Reason) {
            // Literals only; DestinationPolicyTests parses every one of them.
            range = IPAddressRange(cidr)!
            self.reason = reason
        }
    }

    /// Refused whatever the allow-list says. Metadata addresses come before the blocks they
    /// sit in (169.254.0.0/16, 100.64.0.0/10, fc00::/7), so they are named for what they are.
    private static let alwaysRefused: [Entry] = [
        Entry("169.254.169.254/32", .cloudMetadata),
        Entry("100.100.100.200/32", .cloudMetadata),
        Entry("fd00:ec2::254/128", .cloudMetadata),
        Entry("168.63.129.16/32", .cloudMetadata),        // Azure's WireServer
        Entry("0.0.0.0/8", .unspecified),
        Entry("::/128", .unspecified),
        Entry("169.254.0.0/16", .linkLocal),
        Entry("fe80::/10", .linkLocal),
        Entry("224.0.0.0/4", .multicast),
        Entry("ff00::/8", .multicast),
        Entry("240.0.0.0/4", .reserved),
        Entry("192.0.0.0/24", .reserved),                 // IETF protocol assignments
        Entry("198.18.0.0/15", .reserved),                // benchmarking
        Entry("64:ff9b:1::/48", .reserved),               // local-use NAT64
    ]

    /// Refused unless the allow-list holds the address.
    private static let refusedUnlessAllowed: [Entry] = [
        Entry("127.0.0.0/8", .loopback),
        Entry("::1/128", .loopback),
        Entry("10.0.0.0/8", .privateNetwork),
        Entry("172.16.0.0/12", .privateNetwork),
        Entry("192.168.0.0/16", .privateNetwork),
        Entry("fc00::/7", .privateNetwork),
        Entry("fec0::/10", .privateNetwork),
        Entry("100.64.0.0/10", .sharedAddressSpace),
    ]
}

/// Why Sluice will not connect somewhere. Its description is Sluice's own short message,
/// safe to show in delivery lists and relay statuses.
public struct DestinationRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    /// The refused address or name, as Sluice writes it; empty for a malformed URL.
    public var host: String
    public var reason: DestinationPolicy.Reason

    public init(host: String, reason: DestinationPolicy.Reason) {
        self.host = host
        self.reason = reason
    }

    public var description: String {
        if reason == .malformed { return "destination URL not usable" }
        return "destination \(host) refused by the destination policy (\(reason.text))"
    }

    /// The message for a `fields[]` entry of a 400.
    public var fieldMessage: String {
        switch reason {
        case .malformed: return "must have a plain host name or IP address"
        case _ where reason.isLiftable:
            return "must not point at \(reason.text) (\(host)) unless the operator allows it with --allow-destination"
        default: return "must not point at \(reason.text) (\(host))"
        }
    }
}
