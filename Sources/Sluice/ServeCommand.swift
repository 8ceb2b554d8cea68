import ArgumentParser
import Workers
import Foundation
import Ingest
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// The flags every node command shares (`serve`, `ingest`, `api`, `worker`).
struct NodeOptions: ParsableArguments {
    @Option(help: "Address to listen on.")
    var host = "0.0.0.0"

    @Option(help: "RTMP port (0 picks a free port).")
    var rtmpPort = 1935

    @Option(help: "RTMPS port (0 picks a free port); needs --tls-cert and --tls-key.")
    var rtmpsPort = 1936

    @Option(help: "SRT port (UDP) for SRT publish and play on ingest nodes (0 picks a free port).")
    var srtPort = 10080

    @Option(help: "Numeric address the SRT listener binds (default: --host).")
    var srtHost: String?

    @Option(help: "AES key length of encrypted SRT connections, bytes: 16, 24 or 32 (default: the caller's choice, AES-128 unless it asks for more).")
    var srtKeyLength: Int?

    @Option(help: "HTTP port for playback and health (0 picks a free port).")
    var httpPort = 8080

    @Option(help: "UDP port of WebRTC media (WHEP playback, WHIP publish) on nodes with the API; every session shares it (0 picks a free port).")
    var webrtcPort = 8189

    @Option(help: "Address written into WebRTC candidates, HOST[:PORT] (default: --public-host, else 127.0.0.1); PORT when a NAT or relay in front maps another port than --webrtc-port.")
    var webrtcAddress: String?

    @Flag(help: "Serve no WebRTC (POST /{id}/whep and /{id}/whip answer 503).")
    var noWebrtc = false

    @Flag(help: "Send WebRTC media one packet per datagram, without UDP segmentation offload (GSO). By default a frame's packets to a viewer leave in one datagram the kernel cuts apart, on kernels with UDP_SEGMENT; turn it off for a network device or tunnel that refuses such datagrams.")
    var noWebrtcGso = false

    @Option(help: "Milliseconds of audio per Opus packet to WHEP viewers: 20, 40 or 60. Longer packets mean fewer datagrams per viewer (more viewers per core) for that much more audio delay.")
    var webrtcOpusFrameMs = 20

    @Option(help: "Port of /healthz, /readyz and /metrics on ingest and worker nodes (env SLUICE_STATUS_PORT; default 9102 on ingest, 9103 on workers; 0 picks a free port). Nodes with the API serve them on --http-port.")
    var statusPort: Int?

    @Option(help: "Folder for this node's files: the SQLite metadata database (without --database), the embedded bus's journal, recordings being written, and assets when not on S3.")
    var dataDir = "./data"

    @Option(help: "Compatibility mode: one secret (env SLUICE_PUSH_SECRET) for stream ids that are not channels.")
    var pushSecret: String?

    @Option(help: "PEM certificate chain for RTMPS.")
    var tlsCert: String?

    @Option(help: "PEM private key for RTMPS.")
    var tlsKey: String?

    @Option(help: "Event-loop threads (default: one per core).")
    var eventLoops: Int?

    @Option(help: "Longest an HTTP-FLV or RTMP viewer's frame may wait to be written with others under load, ms (default 100; 0 writes every frame at once).")
    var latencyBudgetMs: Int?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    @Option(help: "Log format: text, or json (one object per line).")
    var logFormat = "text"

    @Option(help: "Host name printed in the sample push and play URLs.")
    var publicHost: String?

    @Option(help: "PEM file of extra certificate authorities trusted for rtmps:// relay destinations.")
    var relayCaFile: String?

    @Option(help: "S3-compatible endpoint for recordings and snapshots, e.g. https://s3.eu-west-1.amazonaws.com (needs --s3-bucket; keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY). Default: files under --data-dir.")
    var s3Endpoint: String?

    @Option(help: "S3 bucket for recordings and snapshots.")
    var s3Bucket: String?

    @Option(help: "S3 region (signing).")
    var s3Region = "us-east-1"

    @Option(help: "Prefix for every S3 key, e.g. sluice/.")
    var s3Prefix = ""

    @Option(help: "S3 storage class for new objects (e.g. STANDARD_IA); default: the bucket's.")
    var s3StorageClass: String?

    @Option(help: "Font file for text watermarks (default: Noto Sans CJK, which covers Latin and CJK).")
    var watermarkFont = WatermarkSettings.defaultFontFile

    @Option(help: "Admission hook asked before every publish and play (channels may name their own).")
    var admissionUrl: String?

    @Option(help: "Milliseconds an admission hook may take before the request is denied.")
    var admissionTimeoutMs = 1000

    @Option(help: "Seconds an admission hook's answer is reused (0: ask every time).")
    var admissionCacheSeconds = 0

    @Option(help: "Keep session state (publish locks, live streams, relay states) in Redis, redis://host:port (env SLUICE_REDIS), so nodes sharing it refuse a second publisher of a stream. Default: in memory.")
    var redis: String?

    @Option(help: "Keep metadata (channels, API keys, settings, the asset index, webhook deliveries) in PostgreSQL, postgres://user[:password]@host:port/db (env SLUICE_DATABASE). Cluster nodes need it; `serve` uses SQLite in --data-dir without.")
    var database: String?

    @Option(help: "Seconds a node's heartbeat lives in session state; a node silent that long has its streams ended by another (with --redis).")
    var nodeTtlSeconds = 10

    @Option(help: "Attempts per webhook event and receiver before it is parked on sluice.webhooks.deadletter.")
    var webhookAttempts = 6

    @Option(help: "Milliseconds before a webhook's first retry; each further retry waits twice as long.")
    var webhookFirstRetryMs = 1000

    @Option(help: "Kafka brokers, host:port[,host:port…] (env SLUICE_KAFKA). Cluster nodes need them; `serve` uses its embedded bus without.")
    var kafka: String?

    @Option(help: "A CIDR block (10.0.0.0/8, fd00::/8, 127.0.0.1) webhooks, channel admission hooks and relays may reach although it is loopback, private or CGNAT; repeatable, also env SLUICE_ALLOW_DESTINATIONS (comma-separated). Link-local and cloud metadata addresses stay refused.")
    var allowDestination: [String] = []

    /// Runs a node doing `roles` with these flags and the process environment.
    func runNode(roles: Set<Role>) async throws {
        let settings = try ServeSettings(options: self, roles: roles, environment: ProcessInfo.processInfo.environment)
        try bootstrapLogging(level: settings.logLevel)
        // The data dir holds secrets (push secrets, key hashes, the webhook signing secret):
        // everything this process creates is for its own user only (folders 0700, files 0600).
        umask(0o077)
        try await Node(settings: settings).run()
    }

    /// Sets up logging as the flags say.
    func bootstrapLogging(level: Logger.Level) throws {
        guard let format = LineLogHandler.Format(rawValue: logFormat) else {
            throw ValidationError("--log-format must be text or json.")
        }
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, format: format, logLevel: level) }
    }
}

/// `sluice serve`: everything in one process on embedded defaults (or, with `--kafka` and
/// `--redis`, one node of a cluster doing every job).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run ingest, playback, the API and every worker in one process."
    )

    @OptionGroup var options: NodeOptions

    func run() async throws { try await options.runNode(roles: Set(Role.allCases)) }
}

/// `sluice ingest`: a cluster's RTMP/RTMPS ingest node (and RTMP play of any stream).
struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Run a cluster ingest node: RTMP/RTMPS publish and play; media and events to Kafka."
    )

    @OptionGroup var options: NodeOptions

    func run() async throws { try await options.runNode(roles: [.ingest]) }
}

/// `sluice api`: a cluster's API node (REST API, console, playback of any stream).
struct APICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api",
        abstract: "Run a cluster API node: REST API, console, HTTP-FLV/HLS/LL-HLS/DASH playback of streams on any ingest node."
    )

    @OptionGroup var options: NodeOptions

    func run() async throws { try await options.runNode(roles: [.api]) }
}

/// `sluice worker --roles …`: a cluster's stateless worker node.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run cluster workers, each a Kafka consumer group member: transcode, record, snapshot, motion, relay, webhooks, retention, dvr."
    )

    @OptionGroup var options: NodeOptions

    @Option(help: "Comma-separated: \(Role.workers.map(\.rawValue).joined(separator: ",")) (default: all).")
    var roles: String?

    func run() async throws {
        var chosen = Set(Role.workers)
        if let roles {
            chosen = []
            for name in roles.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                guard let role = Role(rawValue: name), Role.workers.contains(role) else {
                    throw ValidationError("--roles: unknown worker '\(name)'; choose from \(Role.workers.map(\.rawValue).joined(separator: ", ")).")
                }
                chosen.insert(role)
            }
        }
        try await options.runNode(roles: chosen)
    }
}
