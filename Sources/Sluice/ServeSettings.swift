import Access
import Events
import Fanout
import ArgumentParser
import Foundation
import Ingest
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import State
import WebRTC
import Workers

/// What a node does. `serve` does everything; cluster nodes one part each.
enum Role: String, CaseIterable, Sendable {
    case ingest, api
    case transcode, record, snapshot, motion, relay, webhooks, retention, dvr

    static let workers: [Role] = [.transcode, .record, .snapshot, .motion, .relay, .webhooks, .retention, .dvr]
}

/// Validated settings of a node command, from flags and environment.
struct ServeSettings {
    var roles: Set<Role>
    /// The cluster's bus; nil: the embedded one (`serve` alone).
    var kafka: KafkaConfiguration?
    var ingest: IngestConfiguration
    /// The SRT listener of the ingest role (`--srt-port`, `--srt-host`).
    var srt: SRTIngestConfiguration
    var httpHost: String
    var httpPort: Int
    /// The WebRTC transport of nodes with the API (`--webrtc-port`, `--webrtc-address`); nil
    /// with `--no-webrtc`.
    var webRTC: WebRTCConfiguration?
    /// The status port of nodes without the API role (`--status-port`, `SLUICE_STATUS_PORT`).
    var statusPort: Int
    var dataDirectory: URL
    var eventLoops: Int
    /// How the fan-out gathers writes under load (`--latency-budget-ms`, default 100 ms).
    var flushPolicy: FlushPolicy
    var logLevel: Logger.Level
    var publicHost: String
    /// The admin API key from `SLUICE_ADMIN_KEY`; without it one is generated on first start.
    var adminKey: String?
    /// Admission hooks (`--admission-url`, key from `SLUICE_ADMISSION_SECRET`) and signed playback.
    var access: AccessConfiguration
    /// The TLS client context relays use for `rtmps://` destinations: the system's trust
    /// roots, plus `--relay-ca-file`.
    var relayTLS: NIOSSLContext
    /// What text watermarks are drawn with.
    var watermarkFont: String
    /// Where assets go when not under the data dir.
    var s3: S3AssetStore.Configuration?
    /// Webhook retries.
    var webhooks: WebhookWorker.Configuration
    /// Session state in Redis instead of memory.
    var redis: RedisClient?
    /// Metadata in PostgreSQL (`--database`, `SLUICE_DATABASE`) instead of SQLite in the data dir.
    var database: PostgresLocation?
    /// How long a node's heartbeat lives.
    var nodeTTL: Duration
    /// Where webhooks, admission hooks and relays may connect (`--allow-destination`,
    /// `SLUICE_ALLOW_DESTINATIONS`).
    var destinations: DestinationPolicy

    init(options command: NodeOptions, roles: Set<Role>, environment: [String: String]) throws {
        self.roles = roles
        guard let level = Logger.Level(rawValue: command.logLevel) else {
            throw ValidationError("Unknown log level '\(command.logLevel)'.")
        }
        logLevel = level
        guard (0...65535).contains(command.httpPort) else { throw ValidationError("--http-port must be 0–65535.") }
        destinations = try Self.destinations(flags: command.allowDestination, environment: environment)
        let secret = (command.pushSecret ?? environment["SLUICE_PUSH_SECRET"]).flatMap { $0.isEmpty ? nil : $0 }
        adminKey = environment["SLUICE_ADMIN_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        let tls = try Self.tlsContext(cert: command.tlsCert, key: command.tlsKey)
        ingest = try IngestConfiguration(host: command.host, rtmpPort: command.rtmpPort, rtmpsPort: command.rtmpsPort,
                                         tls: tls, pushSecret: secret, nodeID: Self.nodeID())
        do {
            srt = try SRTIngestConfiguration(host: command.srtHost ?? command.host, port: command.srtPort,
                                             keyLengthBytes: command.srtKeyLength)
        } catch {
            throw ValidationError("--srt-port must be 0–65535, --srt-host (or --host) a numeric address and --srt-key-length 16, 24 or 32.")
        }
        httpHost = command.host
        httpPort = command.httpPort
        statusPort = try NodeStatus.port(flag: command.statusPort, environment: environment, roles: roles)
        dataDirectory = URL(fileURLWithPath: command.dataDir, isDirectory: true)
        eventLoops = command.eventLoops ?? System.coreCount
        guard eventLoops > 0 else { throw ValidationError("--event-loops must be positive.") }
        let budget = command.latencyBudgetMs ?? 100
        guard (0...1000).contains(budget) else { throw ValidationError("--latency-budget-ms must be 0…1000.") }
        flushPolicy = FlushPolicy(latencyBudget: .milliseconds(Int64(budget)))
        let wildcard = ["0.0.0.0", "::", ""].contains(command.host)
        publicHost = command.publicHost ?? (wildcard ? "127.0.0.1" : command.host)
        webRTC = command.noWebrtc ? nil : try Self.webRTC(command: command, publicHost: publicHost)
        access = try Self.access(command: command, environment: environment)
        access.destinations = destinations
        relayTLS = try Self.relayTLS(caFile: command.relayCaFile)
        guard FileManager.default.isReadableFile(atPath: command.watermarkFont) else {
            throw ValidationError("--watermark-font: cannot read \(command.watermarkFont) (Debian: apt-get install fonts-noto-cjk).")
        }
        watermarkFont = command.watermarkFont
        s3 = try Self.s3(command: command, environment: environment)
        guard (1...20).contains(command.webhookAttempts) else { throw ValidationError("--webhook-attempts must be 1–20.") }
        guard (10...600_000).contains(command.webhookFirstRetryMs) else {
            throw ValidationError("--webhook-first-retry-ms must be 10–600000.")
        }
        (redis, kafka, database) = try Self.clusterServices(command: command, environment: environment, roles: roles,
                                                            clientID: "sluice-\(ingest.nodeID)")
        guard (2...600).contains(command.nodeTtlSeconds) else { throw ValidationError("--node-ttl-seconds must be 2–600.") }
        nodeTTL = .seconds(command.nodeTtlSeconds)
        webhooks = WebhookWorker.Configuration(attempts: command.webhookAttempts, firstRetry: .milliseconds(command.webhookFirstRetryMs),
                                               destinations: destinations)
    }

    /// Redis, Kafka and PostgreSQL from their flags or environment; a cluster node (any but
    /// every role) needs all three.
    static func clusterServices(command: NodeOptions, environment: [String: String], roles: Set<Role>,
                                clientID: String) throws -> (RedisClient?, KafkaConfiguration?, PostgresLocation?) {
        var (redis, kafka, database): (RedisClient?, KafkaConfiguration?, PostgresLocation?) = (nil, nil, nil)
        if let url = (command.redis ?? environment["SLUICE_REDIS"]).flatMap({ $0.isEmpty ? nil : $0 }) {
            do {
                redis = try RedisClient(url: url)
            } catch {
                throw ValidationError("--redis must look like redis://host:port.")
            }
        }
        if let brokers = (command.kafka ?? environment["SLUICE_KAFKA"]).flatMap({ $0.isEmpty ? nil : $0 }) {
            guard brokers.split(separator: ",").allSatisfy({ $0.split(separator: ":").count == 2 }) else {
                throw ValidationError("--kafka must look like host:port[,host:port…].")
            }
            kafka = KafkaConfiguration(brokers: brokers, clientID: clientID)
        }
        if let url = (command.database ?? environment["SLUICE_DATABASE"]).flatMap({ $0.isEmpty ? nil : $0 }) {
            do {
                database = try PostgresLocation(url: url)
            } catch let error as StateError {
                throw ValidationError("--database: \(error.context).")
            }
        }
        if roles != Set(Role.allCases) {
            guard kafka != nil, redis != nil, database != nil else {
                throw ValidationError("Cluster nodes need --kafka host:port, --redis redis://host:port and --database postgres://user@host:port/db (or SLUICE_KAFKA, SLUICE_REDIS, SLUICE_DATABASE).")
            }
        }
        return (redis, kafka, database)
    }

    /// The allow-list from every `--allow-destination` and `SLUICE_ALLOW_DESTINATIONS`.
    static func destinations(flags: [String], environment: [String: String]) throws -> DestinationPolicy {
        let listed = (environment["SLUICE_ALLOW_DESTINATIONS"] ?? "").split(separator: ",").map(String.init)
        var ranges: [IPAddressRange] = []
        for text in flags + listed {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            guard let range = IPAddressRange(trimmed) else {
                throw ValidationError("--allow-destination '\(trimmed.prefix(64))' is not a CIDR block (10.0.0.0/8, fd00::/8, 127.0.0.1) with no bits set past its prefix.")
            }
            ranges.append(range)
        }
        guard ranges.count <= 256 else { throw ValidationError("--allow-destination: at most 256 blocks.") }
        return DestinationPolicy(allowing: ranges)
    }

    /// The WebRTC transport: bound on `--host`, its candidate `--webrtc-address` HOST[:PORT]
    /// (`[v6]:PORT` for IPv6 with a port), else the public host. Candidates should carry
    /// numeric addresses (not every browser resolves a name in one), so a name is resolved once
    /// here; one that does not resolve is written as it is.
    static func webRTC(command: NodeOptions, publicHost: String) throws -> WebRTCConfiguration {
        guard (0...65535).contains(command.webrtcPort) else { throw ValidationError("--webrtc-port must be 0–65535.") }
        guard WebRTCConfiguration.opusFrameChoices.contains(command.webrtcOpusFrameMs) else {
            throw ValidationError("--webrtc-opus-frame-ms must be 20, 40 or 60.")
        }
        var host = publicHost
        var port: Int?
        if let text = command.webrtcAddress {
            guard let parsed = candidateAddress(text) else {
                throw ValidationError("--webrtc-address must be HOST, HOST:PORT or [IPv6]:PORT with a port 1–65535.")
            }
            (host, port) = parsed
        }
        return WebRTCConfiguration(host: command.host.isEmpty ? "0.0.0.0" : command.host, port: command.webrtcPort,
                                   advertisedAddress: numericAddress(host) ?? host, advertisedPort: port,
                                   segmentationOffload: !command.noWebrtcGso, opusFrameMilliseconds: command.webrtcOpusFrameMs)
    }

    /// `HOST`, `HOST:PORT`, `[IPv6]` or `[IPv6]:PORT`; a bare IPv6 address has no port.
    static func candidateAddress(_ text: String) -> (host: String, port: Int?)? {
        func port(_ digits: Substring) -> Int? {
            guard digits.count <= 5, let value = Int(digits), (1...65535).contains(value) else { return nil }
            return value
        }
        guard !text.isEmpty, text.utf8.count <= 255 else { return nil }
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.isEmpty { return host.isEmpty ? nil : (host, nil) }
            guard rest.hasPrefix(":"), let number = port(rest.dropFirst()), !host.isEmpty else { return nil }
            return (host, number)
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 2 {
            guard !parts[0].isEmpty, let number = port(parts[1]) else { return nil }
            return (String(parts[0]), number)
        }
        return text.contains(where: \.isWhitespace) ? nil : (text, nil)
    }

    /// `host` as a numeric address: itself when it is one, else its first address by name.
    private static func numericAddress(_ host: String) -> String? {
        if (try? SocketAddress(ipAddress: host, port: 0)) != nil { return host }
        return (try? SocketAddress.makeAddressResolvingHost(host, port: 0))?.ipAddress
    }

    private static func s3(command: NodeOptions, environment: [String: String]) throws -> S3AssetStore.Configuration? {
        guard command.s3Endpoint != nil || command.s3Bucket != nil else { return nil }
        guard let text = command.s3Endpoint, let endpoint = URL(string: text), ["http", "https"].contains(endpoint.scheme ?? ""),
              endpoint.host != nil else {
            throw ValidationError("--s3-endpoint must be an http:// or https:// URL when --s3-bucket is set.")
        }
        guard let bucket = command.s3Bucket, !bucket.isEmpty else { throw ValidationError("--s3-endpoint needs --s3-bucket.") }
        guard let access = environment["AWS_ACCESS_KEY_ID"], let secret = environment["AWS_SECRET_ACCESS_KEY"],
              !access.isEmpty, !secret.isEmpty else {
            throw ValidationError("S3 needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment.")
        }
        return S3AssetStore.Configuration(endpoint: endpoint, bucket: bucket, region: command.s3Region, prefix: command.s3Prefix,
                                          storageClass: command.s3StorageClass, accessKey: access, secretKey: secret)
    }

    private static func relayTLS(caFile: String?) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caFile {
            do {
                configuration.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(caFile))]
            } catch {
                throw ValidationError("Cannot load --relay-ca-file: \(error)")
            }
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw ValidationError("Cannot set up TLS for relays: \(error)")
        }
    }

    private static func access(command: NodeOptions, environment: [String: String]) throws -> AccessConfiguration {
        var hook: URL?
        if let text = command.admissionUrl {
            guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""),
                  url.host != nil else {
                throw ValidationError("--admission-url must be an http:// or https:// URL.")
            }
            if case .failure(let refusal) = DestinationPolicy.alwaysRefusedOnly.validate(urlString: text) {
                throw ValidationError("--admission-url: \(refusal)")
            }
            hook = url
        }
        guard (1...60_000).contains(command.admissionTimeoutMs) else {
            throw ValidationError("--admission-timeout-ms must be 1–60000.")
        }
        guard (0...86_400).contains(command.admissionCacheSeconds) else {
            throw ValidationError("--admission-cache-seconds must be 0–86400.")
        }
        return AccessConfiguration(admissionURL: hook, admissionSecret: environment["SLUICE_ADMISSION_SECRET"] ?? "",
                                   admissionTimeout: .milliseconds(command.admissionTimeoutMs),
                                   admissionCacheSeconds: command.admissionCacheSeconds)
    }

    private static func tlsContext(cert: String?, key: String?) throws -> NIOSSLContext? {
        switch (cert, key) {
        case (nil, nil):
            return nil
        case (let cert?, let key?):
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(cert).map { NIOSSLCertificateSource.certificate($0) }
                let configuration = TLSConfiguration.makeServerConfiguration(
                    certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
                return try NIOSSLContext(configuration: configuration)
            } catch {
                throw ValidationError("Cannot load RTMPS certificate or key: \(error)")
            }
        default:
            throw ValidationError("--tls-cert and --tls-key go together.")
        }
    }

    private static func nodeID() -> String {
        ProcessInfo.processInfo.hostName + "-" + String(ProcessInfo.processInfo.processIdentifier)
    }
}
