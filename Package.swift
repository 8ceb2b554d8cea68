// swift-tools-version:6.0
import PackageDescription

// Debian's librdkafka (2.0.2) cannot talk to every broker Sluice supports (Tansu among them):
// binaries look for librdkafka.so.1 first in `.runtime/lib` of the checkout (filled by
// ops/install-kafka.sh; the binaries sit three folders below it in .build/<triple>/<config>)
// and in `../lib` beside an installed binary (ops/install.sh).
let kafkaRuntimePaths: [LinkerSetting] = ["$ORIGIN/../../../.runtime/lib", "$ORIGIN/../lib"].map {
    .unsafeFlags(["-Xlinker", "-rpath", "-Xlinker", $0])
}

let package = Package(
    name: "Sluice",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "sluice", targets: ["Sluice"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.30.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.20.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        // FFmpeg's C libraries (libavcodec, libavfilter, libavformat, libswscale, libavutil), through pkg-config.
        .systemLibrary(name: "CFFmpeg", pkgConfig: "libavformat", providers: [
            .apt(["libavformat-dev", "libavcodec-dev", "libavfilter-dev", "libavutil-dev", "libswscale-dev", "libswresample-dev"]),
        ]),
        // hiredis, the Redis client library (session state in a cluster).
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        // librdkafka, the Kafka client library (the event bus in a cluster). Headers from Debian;
        // the library loaded at run time is 2.16 (see `kafkaRuntimePaths`).
        .systemLibrary(name: "Crdkafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        // libsrt, the SRT transport: Debian's GnuTLS flavour, the one FFmpeg's libavformat loads
        // (two flavours in one process crash at exit; Sources/CSRT/shim.h).
        .systemLibrary(name: "CSRT", pkgConfig: "srt", providers: [.apt(["libsrt-gnutls-dev"])]),
        // OpenSSL's libssl and libcrypto: DTLS for WebRTC (DTLS-SRTP, RFC 5764), certificates.
        .systemLibrary(name: "CDTLS", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        // libsrtp2: SRTP and SRTCP for WebRTC, keyed from the DTLS handshake.
        .systemLibrary(name: "CSRTP", pkgConfig: "libsrtp2", providers: [.apt(["libsrtp2-dev"])]),
        // OpenSSL's AES-NI AES-ICM-128 and HMAC-SHA1 registered with libsrtp2 in place of its table
        // implementations (Debian's libsrtp2 is built without OpenSSL): C, as libsrtp2's cipher API is.
        .target(name: "CSRTPCrypto", linkerSettings: [.linkedLibrary("srtp2"), .linkedLibrary("crypto")]),
        // SDP offer/answer (RFC 8866, RFC 8829's rules as WHIP and WHEP use them): pure Swift, no I/O.
        .target(name: "SDP"),
        // WebRTC's packet formats, pure: STUN (RFC 8489), RTP/RTCP (RFC 3550, 4585), H.264 over RTP
        // (RFC 6184), jitter buffer, NACK tracking, retransmission buffer.
        .target(name: "RTC", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The WebRTC transport: ICE-lite on one UDP port, DTLS-SRTP (OpenSSL, libsrtp2), peer sessions.
        .target(name: "WebRTC", dependencies: [
            "RTC", "SDP", "CDTLS", "CSRTP", "CSRTPCrypto",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // WebRTC media: WHEP playback from the fan-out (H.264 RTP, AAC to Opus once per stream,
        // retransmissions) and WHIP's received media made into FLV tags (depacketizing, Opus to AAC).
        .target(name: "WebRTCMedia", dependencies: [
            "WebRTC", "RTC", "SDP", "Fanout", "Events", "Media", "CFFmpeg",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Pure formats, no I/O: AMF0/3, FLV tags, AVC/HEVC/AAC configurations, MPEG-TS, fMP4/CMAF,
        // MP4, M3U8 and MPD writers.
        .target(name: "Media", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        // RTMP protocol: handshake, chunk streams, messages, session state machines.
        .target(name: "RTMP", dependencies: [
            "Media",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // SRT transport over libsrt: a listener whose admission decides each caller's handshake
        // (stream ID, passphrase, latency, reject reasons), publish and play connections, statistics.
        .target(name: "SRT", dependencies: [
            "CSRT",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Event types, topic catalog, media-frame codec, EventBus (embedded log, Kafka), the channel
        // model and its validation, and OwnerThread (the one way to run blocking C code).
        .target(name: "Events", dependencies: [
            "Media", "Crdkafka",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], linkerSettings: kafkaRuntimePaths),
        // Session state (who publishes what, which streams are live; Redis or memory), leases,
        // metadata stores (channels, API keys, settings, webhook deliveries: SQLite or PostgreSQL),
        // assets (filesystem or S3).
        .target(name: "State", dependencies: [
            "Media", "Events", "CHiredis",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // One fan-out per live stream, shared by RTMP play and HTTP-FLV.
        .target(name: "Fanout", dependencies: [
            "Media", "RTMP", "Events", "State",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Live packaging for HTTP playback: HLS (MPEG-TS), LL-HLS and DASH (CMAF) from the media bus.
        .target(name: "Packager", dependencies: [
            "Media", "Events", "State",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Who may publish and play: signed play URLs and admission hooks, shared by ingest and HTTP.
        .target(name: "Access", dependencies: [
            "Media", "Events", "State",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        // Stream workers: transcoding ladder with watermarks (FFmpeg), snapshots, MP4 and VOD
        // recording, motion, retention, relays to other platforms, webhooks.
        .target(name: "Workers", dependencies: [
            "CFFmpeg", "Media", "RTMP", "Events", "State", "Packager",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        // RTMP/RTMPS ingest service: publish/play policy, stream publisher (stamping), node
        // heartbeats, publish revalidation, where playback starts (session state).
        .target(name: "Ingest", dependencies: [
            "Media", "RTMP", "Events", "State", "Fanout", "Access", "SRT", "WebRTC", "WebRTCMedia", "SDP",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        // The HTTP edge, one route table: REST API, playback (HTTP-FLV, HLS, LL-HLS, DASH), player
        // pages, console, health, metrics.
        .target(name: "API", dependencies: [
            "Media", "Events", "State", "Fanout", "Packager", "Access", "WebRTCMedia", "SDP",
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ], resources: [.copy("Players"), .copy("Console")]),
        // The `sluice` executable: CLI, configuration, composition of services.
        .executableTarget(name: "Sluice", dependencies: [
            "Events", "State", "Fanout", "Packager", "Access", "Ingest", "Workers", "API", "WebRTC", "WebRTCMedia",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        // Load generator: N RTMP, HTTP-FLV, WHEP or LL-HLS viewers of one published stream.
        .executableTarget(name: "LoadGenerator", dependencies: [
            "Media", "RTMP", "WebRTC", "RTC",
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Benchmarks/LoadGenerator"),

        // What a delivered frame costs per viewer in the fan-out, counted by callgrind
        // (Benchmarks/callgrind.sh).
        .executableTarget(name: "FanoutBench", dependencies: [
            "Events", "Fanout", "Media",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Benchmarks/FanoutBench"),

        // One ingest node's media throughput into Kafka, for Benchmarks/cluster.sh.
        .executableTarget(name: "BusBench", dependencies: [
            "Events",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Benchmarks/BusBench"),

        // Sluice's transcoding pipeline over an FLV file, for Benchmarks/transcode.sh.
        .executableTarget(name: "TranscodeBench", dependencies: [
            "Workers", "Events", "Media",
            .product(name: "NIOCore", package: "swift-nio"),
        ], path: "Benchmarks/TranscodeBench"),

        // libFuzzer targets for every parser and request path (Fuzz/README.md). Built with
        // `-D FUZZING -sanitize=fuzzer,address` by `make fuzz`; a plain debug build runs the
        // seeded pass of `make test`.
        .executableTarget(name: "SluiceFuzz", dependencies: [
            "Media", "RTMP", "Events", "Packager", "API", "Access", "SDP", "RTC", "WebRTC", "WebRTCMedia",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ], path: "Fuzz/SluiceFuzz"),

        // Helpers shared by test targets: a seeded generator for random-input tests, loopback
        // ports, real Redis, PostgreSQL and Kafka (Tansu) servers started for a test.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "MediaTests", dependencies: ["Media", "TestSupport", .product(name: "NIOCore", package: "swift-nio")], resources: [.copy("Golden")]),
        .testTarget(name: "RTMPTests", dependencies: [
            "RTMP", "Media", "TestSupport",
            .product(name: "NIOTestUtils", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
        ], resources: [.copy("Fixtures")]),
        .testTarget(name: "SRTTests", dependencies: [
            "SRT", "TestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "SDPTests", dependencies: ["SDP", "TestSupport"]),
        .testTarget(name: "RTCTests", dependencies: ["RTC", "TestSupport", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "WebRTCTests", dependencies: [
            "WebRTC", "RTC", "SDP", "CSRTPCrypto",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "WebRTCMediaTests", dependencies: [
            "WebRTCMedia", "WebRTC", "RTC", "SDP", "Fanout", "Events", "Media", "CFFmpeg", "TestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "EventsTests", dependencies: [
            "Events", "TestSupport",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
        ], resources: [.copy("Golden")]),
        .testTarget(name: "StateTests", dependencies: ["State", "Events", "TestSupport", .product(name: "NIOCore", package: "swift-nio"),
                                                  .product(name: "Logging", package: "swift-log"),
                                                  .product(name: "AsyncHTTPClient", package: "async-http-client"),
                                                  .product(name: "NIOPosix", package: "swift-nio"),
                                                  .product(name: "PostgresNIO", package: "postgres-nio"),
                                              ]),
        .testTarget(name: "SluiceTests", dependencies: [
            "Sluice", "Events", "State", "Fanout", "Packager", "Workers",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .testTarget(name: "AccessTests", dependencies: ["Access", "State", "Events", "TestSupport",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "FanoutTests", dependencies: [
            "Fanout", "Events", "Media", "State",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "IngestTests", dependencies: [
            "Ingest", "Access", "Events", "Fanout", "RTMP", "State", "SRT", "WebRTC", "WebRTCMedia", "SDP", "RTC",
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            "Media",
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "PackagerTests", dependencies: ["Packager", "Events", "Media", "State", "TestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        .testTarget(name: "APITests", dependencies: [
            "API", "Access", "State", "Events", "Fanout", "Packager", "WebRTCMedia", "WebRTC", "SDP",
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "WorkersTests", dependencies: ["Workers", "Events", "Media", "RTMP", "State", "Packager", "TestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Browser/, Hooks/, Scripts/ and Webhooks/ hold the Python helpers the tests run (headless
        // Chromium, a hook server, the Prometheus parser, a webhook receiver).
        .testTarget(name: "EndToEndTests", dependencies: [
            "Access", "Media", "RTMP", "SRT", "State", "TestSupport", "WebRTC", "RTC",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ], exclude: ["Browser", "Hooks", "Scripts", "Webhooks"]),
    ],
    swiftLanguageModes: [.v6]
)
