import NIOCore
import Testing
@testable import Sluice

/// The lines a node prints when its listeners are up (tests and scripts read them), and the URL
/// bases the API hands out.
@Suite(.timeLimit(.minutes(1))) struct ReadyAnnouncerTests {
    static func bind(_ node: TestNode, _ listener: String, _ port: Int) throws {
        node.core.announcer.bound(listener, try SocketAddress(ipAddress: "127.0.0.1", port: port))
    }

    /// The configured ports until the kernel's are known, then the bound ones.
    @Test func basesUseBoundPortsOnceKnown() async throws {
        try await TestNode.with(Set(Role.allCases), ["--public-host", "media.example"]) { node in
            let announcer = node.core.announcer
            #expect(announcer.bases.push == "rtmp://media.example:1935" && announcer.bases.play == "http://media.example:8080")
            try Self.bind(node, "rtmp", 40001)
            try Self.bind(node, "http", 40002)
            #expect(announcer.bases.push == "rtmp://media.example:40001")
            #expect(announcer.bases.rtmpPlay == "rtmp://media.example:40001")
            #expect(announcer.bases.play == "http://media.example:40002")
            #expect(announcer.isBound("rtmp") && !announcer.isBound("rtmps"))
        }
    }

    /// `sluice serve` prints the demo channel's URLs once RTMP, SRT and HTTP are all bound.
    @Test func serveShowsTheDemoChannelOnceEveryListenerIsUp() async throws {
        try await TestNode.with(Set(Role.allCases), demo: true) { node in
            try Self.bind(node, "http", 40002)
            #expect(node.printed.all == ["sluice: http listening on 127.0.0.1:40002"])
            try Self.bind(node, "rtmp", 40001)
            #expect(node.printed.all.count == 2)
            try Self.bind(node, "srt", 40004)
            let printed = node.printed.all
            try #require(printed.count == 4)
            #expect(printed[1] == "sluice: rtmp listening on 127.0.0.1:40001")
            #expect(printed[2] == "sluice: srt listening on 127.0.0.1:40004")
            let channel = try #require(try await node.core.stores.channels.list(nameContains: nil, limit: 1, after: nil).channels.first)
            let id = channel.streamName
            let samples = printed[3].split(separator: "\n").map(String.init)
            #expect(samples.contains("Channel \"Demo\" (\(id)):"))
            #expect(samples.contains { $0.hasPrefix("Push (ffmpeg):   rtmp://127.0.0.1:40001/stream/\(id)?sign=") })
            #expect(samples.contains("Play (HTTP-FLV): http://127.0.0.1:40002/\(id)/live.flv"))
            #expect(samples.contains("Play (LL-HLS):   http://127.0.0.1:40002/\(id)/llhls.m3u8"))
            #expect(samples.contains { $0.hasPrefix("Push (SRT):      srt://127.0.0.1:40004?streamid=#!::r=stream/\(id),m=publish,s=") })
            #expect(samples.contains("Play (SRT):      srt://127.0.0.1:40004?streamid=#!::r=stream/\(id),m=request"))
            #expect(!samples.contains { $0.hasPrefix("Push (RTMPS)") || $0.hasPrefix("Compatibility mode") })
        }
    }

    /// Nodes without HTTP print only their listeners; an API node its samples when HTTP is up.
    @Test func onlyNodesServingHTTPPrintSamples() async throws {
        try await TestNode.with([.ingest], TestNode.clusterFlags) { node in
            try Self.bind(node, "rtmp", 40001)
            try Self.bind(node, "status", 40003)
            #expect(node.printed.all == ["sluice: rtmp listening on 127.0.0.1:40001", "sluice: status listening on 127.0.0.1:40003"])
        }
        try await TestNode.with([.api], TestNode.clusterFlags + ["--push-secret", "s3cret"]) { node in
            try Self.bind(node, "http", 40002)
            let printed = node.printed.all
            try #require(printed.count == 2)
            #expect(printed[1].contains("Console:         http://127.0.0.1:40002/console/"))
            #expect(printed[1].contains("Compatibility mode:"))
            #expect(!printed[1].contains("Channel "))
        }
    }

    @Test func aNewAdminKeyIsShownOnce() async throws {
        try await TestNode.with([.api], TestNode.clusterFlags) { node in
            node.core.announcer.announceAdminKey("sk_test_key")
            #expect(node.printed.all.count == 1)
            #expect(node.printed.all.first?.hasSuffix(": sk_test_key") == true)
        }
    }
}
