import Events
import Testing
import TestSupport

@Suite struct DestinationPolicyTests {
    let strict = DestinationPolicy()
    let lifted = DestinationPolicy(allowing: ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                              "fc00::/7", "100.64.0.0/10", "fec0::/10"].compactMap { IPAddressRange($0) })

    func ip(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> IPAddress {
        try #require(IPAddress(text), sourceLocation: sourceLocation)
    }

    static let alwaysRefused: [(String, DestinationPolicy.Reason)] = [
        ("169.254.169.254", .cloudMetadata), ("100.100.100.200", .cloudMetadata), ("fd00:ec2::254", .cloudMetadata), ("168.63.129.16", .cloudMetadata),
        ("192.0.0.8", .reserved), ("198.19.255.1", .reserved), ("64:ff9b:1::a", .reserved),
        ("169.254.0.1", .linkLocal), ("fe80::1", .linkLocal), ("febf:ffff::1", .linkLocal),
        ("0.0.0.0", .unspecified), ("0.1.2.3", .unspecified), ("::", .unspecified),
        ("224.0.0.1", .multicast), ("239.255.255.250", .multicast), ("ff02::1", .multicast),
        ("255.255.255.255", .reserved), ("240.0.0.1", .reserved),
        // IPv4 hidden in IPv6: mapped, compatible, NAT64, 6to4.
        ("::ffff:169.254.169.254", .cloudMetadata), ("::ffff:a9fe:a9fe", .cloudMetadata), ("::169.254.169.254", .cloudMetadata),
        ("64:ff9b::169.254.169.254", .cloudMetadata), ("64:ff9b::a9fe:1", .linkLocal), ("2002:a9fe:a9fe::1", .cloudMetadata),
        ("::ffff:0.0.0.0", .unspecified), ("::ffff:224.0.0.1", .multicast), ("::ffff:255.255.255.255", .reserved),
    ]

    static let refusedUnlessAllowed: [(String, DestinationPolicy.Reason)] = [
        ("127.0.0.1", .loopback), ("127.255.255.254", .loopback), ("::1", .loopback),
        ("10.0.0.5", .privateNetwork), ("172.16.0.1", .privateNetwork), ("172.31.255.255", .privateNetwork),
        ("192.168.1.1", .privateNetwork), ("fc00::1", .privateNetwork), ("fd12:3456::1", .privateNetwork),
        ("fec0::1", .privateNetwork), ("100.64.0.1", .sharedAddressSpace), ("100.127.255.255", .sharedAddressSpace),
        ("::ffff:127.0.0.1", .loopback), ("::ffff:10.0.0.5", .privateNetwork), ("::127.0.0.1", .loopback),
        ("64:ff9b::10.0.0.5", .privateNetwork), ("64:ff9b::7f00:1", .loopback), ("2002:c0a8:101::", .privateNetwork),
    ]

    static let publicAddresses = ["8.8.8.8", "1.1.1.1", "172.32.0.1", "172.15.255.255", "100.63.255.255", "100.128.0.1",
                                  "169.253.255.255", "223.255.255.255", "192.0.2.1", "2001:4860:4860::8888", "2606:4700::1111",
                                  "::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "2002:808:808::1", "fe00::1", "fbff::1"]

    @Test(arguments: alwaysRefused)
    func neverAllowedWhateverTheAllowList(text: String, reason: DestinationPolicy.Reason) throws {
        let address = try #require(IPAddress(text), "\(text)")
        #expect(strict.refusal(of: address)?.reason == reason, "\(text)")
        #expect(lifted.refusal(of: address)?.reason == reason, "\(text)")
        let everything = DestinationPolicy(allowing: ["0.0.0.0/0", "::/0", "169.254.0.0/16", "fe80::/10"].compactMap { IPAddressRange($0) })
        #expect(everything.refusal(of: address)?.reason == reason, "\(text)")
        #expect(DestinationPolicy.alwaysRefusedOnly.refusal(of: address) != nil, "\(text)")
    }

    @Test(arguments: refusedUnlessAllowed)
    func refusedUntilTheOperatorAllowsIt(text: String, reason: DestinationPolicy.Reason) throws {
        let address = try #require(IPAddress(text), "\(text)")
        #expect(strict.refusal(of: address)?.reason == reason, "\(text)")
        #expect(lifted.refusal(of: address) == nil, "\(text)")
        #expect(DestinationPolicy.alwaysRefusedOnly.refusal(of: address) == nil, "\(text)")
    }

    @Test(arguments: publicAddresses)
    func publicAddressesPass(text: String) throws {
        let address = try #require(IPAddress(text), "\(text)")
        #expect(strict.refusal(of: address) == nil, "\(text)")
    }

    @Test func anAllowListLiftsOnlyWhatItHolds() throws {
        let policy = DestinationPolicy(allowing: [try #require(IPAddressRange("10.1.0.0/16"))])
        #expect(policy.refusal(of: try ip("10.1.2.3")) == nil)
        #expect(policy.refusal(of: try ip("::ffff:10.1.2.3")) == nil)
        #expect(policy.refusal(of: try ip("10.2.0.1"))?.reason == .privateNetwork)
        #expect(policy.refusal(of: try ip("127.0.0.1"))?.reason == .loopback)
    }

    @Test func refusalsSaySluicesOwnWords() throws {
        let refusal = try #require(strict.refusal(of: try ip("10.0.0.5")))
        #expect(refusal.description == "destination 10.0.0.5 refused by the destination policy (a private address)")
        #expect(refusal.fieldMessage.contains("--allow-destination"))
        let metadata = try #require(lifted.refusal(of: try ip("169.254.169.254")))
        #expect(!metadata.fieldMessage.contains("--allow-destination"))
    }

    // MARK: CIDR blocks

    @Test(arguments: [("10.0.0.0/8", "10.0.0.0/8"), ("0.0.0.0/0", "0.0.0.0/0"), ("192.0.2.7", "192.0.2.7/32"),
                      ("::1/128", "::1/128"), ("fd00::/8", "fd00::/8"), ("::/0", "::/0"), ("2001:db8::", "2001:db8::/128"),
                      ("127.0.0.0/8", "127.0.0.0/8"), ("FE80::/10", "fe80::/10")])
    func blocksParse(text: String, canonical: String) throws {
        #expect(try #require(IPAddressRange(text)).description == canonical)
    }

    @Test(arguments: ["", "/", "10.0.0.0/", "10.0.0.0/33", "10.0.0.1/8", "10.0.0.0/08", "10.0.0.0/-1", "10.0.0.0/+8",
                      "10.0.0.0/8/8", "10.0.0/8", "010.0.0.0/8", "10.0.0.0 /8", "::/129", "::1/127", "fe80::/1000",
                      "10.0.0.0/99999999999999999999", "example.com/8", "1.2.3.4.5/32", "::ffff:1.2.3/96", "[::1]/128"])
    func malformedBlocksAreRefused(text: String) {
        #expect(IPAddressRange(text) == nil, "\(text)")
    }

    @Test func blocksContainTheirAddressesOnly() throws {
        let block = try #require(IPAddressRange("172.16.0.0/12"))
        #expect(block.contains(try ip("172.31.255.255")))
        #expect(!block.contains(try ip("172.32.0.0")))
        #expect(!block.contains(try ip("::ffff:172.16.0.1")))
        let v6 = try #require(IPAddressRange("2001:db8::/33"))
        #expect(v6.contains(try ip("2001:db8:7fff::1")))
        #expect(!v6.contains(try ip("2001:db8:8000::1")))
    }

    // MARK: Addresses

    @Test(arguments: [("::", "::"), ("::1", "::1"), ("1::", "1::"), ("2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
                      ("0:0:0:0:0:0:0:0", "::"), ("::ffff:10.0.0.1", "::ffff:10.0.0.1"), ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
                      ("64:ff9b::1.2.3.4", "64:ff9b::102:304"), ("0.0.0.0", "0.0.0.0"), ("255.255.255.255", "255.255.255.255")])
    func addressesRoundTrip(text: String, canonical: String) throws {
        let address = try #require(IPAddress(text), "\(text)")
        #expect(address.description == canonical)
        #expect(IPAddress(canonical) == address)
    }

    @Test(arguments: ["", ":", ":::", "1:::2", "::1::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::", "g::1", ":1::",
                      "1::2:", "fe80::1%eth0", "[::1]", "256.0.0.1", "1.2.3", "01.2.3.4", "1.2.3.4.", " 1.2.3.4", "1.2.3.4::",
                      "::1.2.3.4:5", "1..2.3", "0x7f.0.0.1", "::ffff:1.2.3.256"])
    func malformedAddressesAreRefused(text: String) {
        #expect(IPAddress(text) == nil, "\(text)")
    }

    @Test(arguments: [("127.1", "127.0.0.1"), ("2130706433", "127.0.0.1"), ("0x7f000001", "127.0.0.1"),
                      ("0177.0.0.1", "127.0.0.1"), ("0x7f.1", "127.0.0.1"), ("10.1.1", "10.1.0.1"), ("169.254.43518", "169.254.169.254"),
                      ("127.0.0.1.", "127.0.0.1")])
    func looseIPv4FormsReadAsResolversReadThem(text: String, address: String) {
        #expect(IPAddress(looseIPv4: text) == IPAddress(address), "\(text)")
    }

    @Test(arguments: ["4294967296", "1.2.3.4.5", "256.1", "1.16777216", "08.1.1.1", "0x1g", "", ".", "1..1", "example"])
    func looseIPv4RefusesWhatDoesNotFit(text: String) {
        #expect(IPAddress(looseIPv4: text) == nil, "\(text)")
    }

    // MARK: URLs, without the network

    @Test(arguments: [
        ("http://127.0.0.1:8080/hook", DestinationPolicy.Reason.loopback), ("https://[::1]/x", .loopback),
        ("http://localhost/x", .loopback), ("http://LOCALHOST./x", .loopback), ("http://api.localhost:9/", .loopback),
        ("http://169.254.169.254/latest/meta-data/", .cloudMetadata), ("http://[fd00:ec2::254]/", .cloudMetadata),
        ("http://[::ffff:169.254.169.254]/", .cloudMetadata), ("http://[::ffff:7f00:1]/", .loopback),
        ("rtmp://10.0.0.5/live/key", .privateNetwork), ("rtmps://192.168.0.10:443/app/key", .privateNetwork),
        ("http://2130706433/", .loopback), ("http://0x7f.1/", .loopback), ("http://0177.0.0.1/", .loopback),
        ("http://user:pw@127.0.0.1/", .loopback), ("http://evil.example@10.0.0.1:80/", .privateNetwork),
        ("http://0.0.0.0:8080/", .unspecified), ("http://[fe80::1]/", .linkLocal),
        ("http://evil.example\\@127.0.0.1/", .malformed), ("http://%31%32%37.0.0.1/", .malformed),
        ("http://[::1/", .malformed), ("http://[fe80::1%25eth0]/", .malformed), ("http://a b/", .malformed),
        ("http://host:0/", .malformed), ("http://host:65536/", .malformed), ("http://host:/", .malformed), ("http://:80/", .malformed),
        ("file:///etc/passwd", .malformed), ("http+unix://%2Fvar%2Frun%2Fdocker.sock/", .malformed), ("gopher://x/", .malformed),
        ("http://bücher.example/", .malformed), ("http://[1.2.3.4]/", .malformed), ("", .malformed), ("http://", .malformed),
    ])
    func urlsWithRefusedHostsAreRefused(url: String, reason: DestinationPolicy.Reason) {
        guard case .failure(let refusal) = strict.validate(urlString: url) else {
            Issue.record("\(url) passed")
            return
        }
        #expect(refusal.reason == reason, "\(url)")
    }

    @Test(arguments: [("https://hooks.example.com/sluice?token=a%20b#frag", "https://hooks.example.com:443/sluice?token=a%20b"),
                      ("http://8.8.8.8:8080", "http://8.8.8.8:8080"), ("rtmp://live.twitch.tv/app/key", "rtmp://live.twitch.tv:1935/app/key"),
                      ("HTTPS://User@Example.COM:8443/x", "https://example.com:8443/x"), ("http://[2001:db8::1]/", "http://[2001:db8::1]:80/"),
                      ("http://under_score.example/", "http://under_score.example:80/")])
    func urlsOnPublicHostsPassAndNormalize(url: String, normalized: String) throws {
        let destination = try strict.validate(urlString: url).get()
        #expect(destination.normalizedURL == normalized)
    }

    @Test func theAllowListLiftsLiteralsAndLocalhost() throws {
        #expect((try? lifted.validate(urlString: "http://127.0.0.1:9/").get()) != nil)
        #expect((try? lifted.validate(urlString: "http://localhost:9/").get()) != nil)
        #expect((try? lifted.validate(urlString: "http://10.0.0.5/").get()) != nil)
        #expect((try? lifted.validate(urlString: "http://169.254.169.254/").get()) == nil)
    }

    /// Hostile text: seeded random bytes and mutations of real URLs end in an answer, never a trap.
    @Test func hostileTextNeverTraps() {
        var random = SeededGenerator(seed: 0x5EED_D357)
        let alphabet = Array("0123456789abcdefxX:.[]/%@\\-_ hLOCAL".utf8) + [0, 0xff, 0x7f, 0xc3, 0xa9]
        let seeds = ["http://[::ffff:127.0.0.1]:80/", "10.0.0.0/8", "::1/128", "0x7f.1", "rtmp://a.b/c/d"]
        for round in 0..<20_000 {
            var bytes = Array(seeds[round % seeds.count].utf8)
            for _ in 0..<Int.random(in: 1...6, using: &random) {
                let position = Int.random(in: 0...bytes.count, using: &random)
                let byte = alphabet.randomElement(using: &random) ?? 0
                if position < bytes.count, Bool.random(using: &random) { bytes[position] = byte } else { bytes.insert(byte, at: position) }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            _ = IPAddress(text)
            _ = IPAddress(looseIPv4: text)
            _ = IPAddressRange(text)
            _ = strict.validate(urlString: text)
            _ = strict.refusal(ofHost: text)
        }
        let long = String(repeating: "1:", count: 10_000) + String(repeating: "9", count: 10_000)
        #expect(IPAddress(long) == nil)
        #expect(IPAddressRange("10.0.0.0/" + String(repeating: "9", count: 10_000)) == nil)
        #expect(IPAddress(looseIPv4: String(repeating: "0", count: 10_000)) == nil)
    }

    // MARK: Channels

    @Test func channelsCannotStoreAddressesNoOperatorLifts() {
        var channel = StreamChannel(name: "c")
        channel.webhooks = [Webhook(url: "http://169.254.169.254/latest")]
        channel.relays = [StreamChannel.Relay(url: "rtmp://[::ffff:a9fe:a9fe]/live/key", enabled: true)]
        channel.admissionURL = "http://[fe80::1]/hook"
        let fields = channel.validationErrors().map(\.field)
        #expect(fields.contains("webhooks[0].url") && fields.contains("relays[0].url") && fields.contains("admissionURL"), "\(fields)")
        channel.webhooks = [Webhook(url: "http://127.0.0.1:9000/hook")]
        channel.relays = []
        channel.admissionURL = nil
        #expect(channel.validationErrors().isEmpty, "loopback is the API's to judge, with the operator's allow-list")
        #expect(channel.destinationErrors(policy: strict).map(\.field) == ["webhooks[0].url"])
        #expect(channel.destinationErrors(policy: lifted).isEmpty)
    }
}
