import Events
import NIOCore

/// Where Sluice may connect on an API user's behalf (webhooks, admission hooks, relays).
enum AccessTargets {
    static let all = [destinationPolicy]

    private static let policies = [
        DestinationPolicy(),
        DestinationPolicy.alwaysRefusedOnly,
        DestinationPolicy(allowing: [IPAddressRange("10.0.0.0/8")!, IPAddressRange("fc00::/7")!]),
    ]

    /// `DestinationPolicy.validate(urlString:)` under a default, an allow-all and a partial
    /// allow-list; the text read as an IP address (strict and loose IPv4), whose description
    /// must read back as the same address, and as a CIDR range.
    static let destinationPolicy = FuzzTarget("destination-policy", "DestinationPolicy.validate(urlString:), IPAddress and IPAddressRange parsing") { input in
        let text = input.fuzzText
        for policy in policies {
            _ = policy.validate(urlString: text)
            _ = policy.refusal(ofHost: text)
        }
        for address in [IPAddress(text), IPAddress(looseIPv4: text)].compactMap({ $0 }) {
            precondition(IPAddress(address.description) == address, "\(text) reads as \(address), which reads back differently")
            _ = DestinationPolicy.reason(for: address)
        }
        if let range = IPAddressRange(text) {
            _ = range.contains(.v4(0x7F00_0001))
            _ = IPAddressRange(range.description)
        }
        if input.readableBytes == 16 {
            _ = IPAddress(ipv6Bytes: Array(input.readableBytesView)).map { DestinationPolicy.reason(for: $0) }
        }
    }
}
