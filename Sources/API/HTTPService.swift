import Access
import Events
import Fanout
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Packager
import State
import ServiceLifecycle
import WebRTCMedia

/// Stored media served outside the API: snapshots and VOD recordings.
public struct RecordedMedia: Sendable {
    /// The newest snapshot of a stream (JPEG bytes and an entity tag), for `/{id}/snapshot.jpg`.
    public var latestSnapshot: @Sendable (StreamID) async throws -> (jpeg: ByteBuffer, tag: String)?
    /// The VOD recording of a publish session, for `/vod/{session}/{file}`.
    public var vodRecording: @Sendable (_ session: UInt64) async throws -> VODRecording?
    /// A small stored file whole (a VOD playlist); nil when it is not there.
    public var read: @Sendable (_ location: String) async throws -> ByteBuffer?
    /// Where a stored file (a VOD segment) is sent from, never read whole into memory.
    public var source: @Sendable (_ location: String) async throws -> StoredFileSource?
    /// A stream's thumbnail sprites (`ThumbnailTrack`), newest first: all, or those starting at Unix ms `start`.
    public var thumbnailSprites: @Sendable (StreamID, _ start: Int64?) async throws -> [Asset] = { _, _ in [] }
    /// The thumbnail track's answers, shared by every connection for a moment (`ThumbnailTrack.lookups`).
    var thumbnailLookups = ThumbnailTrack.lookups()

    public init(latestSnapshot: @escaping @Sendable (StreamID) async throws -> (jpeg: ByteBuffer, tag: String)?,
                vodRecording: @escaping @Sendable (_ session: UInt64) async throws -> VODRecording?,
                read: @escaping @Sendable (_ location: String) async throws -> ByteBuffer?,
                source: @escaping @Sendable (_ location: String) async throws -> StoredFileSource?) {
        self.latestSnapshot = latestSnapshot
        self.vodRecording = vodRecording
        self.read = read
        self.source = source
    }
}

/// A VOD recording: the stream whose playback rules it follows, and the store folder of its
/// playlist and segments.
public struct VODRecording: Sendable, Hashable {
    public var stream: StreamID
    public var folder: String

    public init(stream: StreamID, folder: String) {
        self.stream = stream
        self.folder = folder
    }
}

/// Asked by `/readyz`: nil when the node can serve, otherwise what is wrong.
public typealias ReadinessCheck = @Sendable () async -> String?

/// Settings of the HTTP service.
public struct HTTPConfiguration: Sendable {
    /// Address to listen on. Default `0.0.0.0`.
    public var host: String
    /// Port; 0 picks a free one. Default 8080.
    public var port: Int
    /// A connection that has not finished a request after this long is closed (streams are
    /// exempt). Default 30 s.
    public var idleTimeout: Duration
    /// Most simultaneous connections, streams included; more are closed at once. Default 20,000.
    public var maxConnections: Int

    public init(host: String = "0.0.0.0", port: Int = 8080, idleTimeout: Duration = .seconds(30),
                maxConnections: Int = 20_000) {
        self.host = host
        self.port = port
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
    }
}

/// The HTTP server: playback (HTTP-FLV, HLS, LL-HLS, DASH, player pages), the API and health. On shutdown it stops accepting and closes
/// every connection.
public final class HTTPService: Service {
    private let configuration: HTTPConfiguration
    private let hub: FanoutHub
    private let api: APIRouter?
    private let packaged: PackagedPlayback?
    private let access: PlaybackAccess?
    private let metrics: ServerMetrics
    private let readiness: ReadinessCheck?
    private let recorded: RecordedMedia?
    private let whep: (any WHEPPlayback)?
    private let whip: (any WHIPPublishing)?
    private let group: any EventLoopGroup
    private let logger: Logger
    private let onBound: @Sendable (SocketAddress) -> Void
    // A lock: connections open and close on every event loop; this only counts and closes them.
    private let open = NIOLockedValueBox([ObjectIdentifier: any Channel]())

    /// - Parameters:
    ///   - access: signed play URLs and admission hooks; nil: every stream plays openly.
    ///   - metrics: what `/metrics` exposes; nil: the fan-out's and the process's values only.
    ///   - readiness: what `/readyz` asks; nil: ready whenever the process answers.
    ///   - recorded: snapshots and VOD recordings; nil: they are not served.
    ///   - viewers: where HLS, LL-HLS and DASH viewings are counted; nil: they are not.
    ///   - whep: WHEP playback (`POST /{id}/whep`); nil: WebRTC is off (503).
    ///   - whip: WHIP publishing (`POST /{id}/whip`); nil: WebRTC is off (503).
    public init(configuration: HTTPConfiguration, hub: FanoutHub, api: APIRouter?, packager: PackagerHub? = nil,
                access: PlaybackAccess? = nil, metrics: ServerMetrics? = nil, readiness: ReadinessCheck? = nil,
                recorded: RecordedMedia? = nil, viewers: HTTPViewerSessions? = nil,
                whep: (any WHEPPlayback)? = nil, whip: (any WHIPPublishing)? = nil, group: any EventLoopGroup,
                logger: Logger, onBound: @escaping @Sendable (SocketAddress) -> Void = { _ in }) {
        self.configuration = configuration
        self.hub = hub
        self.api = api
        self.packaged = packager.map { PackagedPlayback(packager: $0, viewers: viewers) }
        self.access = access
        self.metrics = metrics ?? ServerMetrics(hub: hub, sessions: nil)
        self.readiness = readiness
        self.recorded = recorded
        self.whep = whep
        self.whip = whip
        self.group = group
        self.logger = logger
        self.onBound = onBound
    }

    /// A connection's handlers, in order: the idle timeout, the HTTP codec with pipelining
    /// assistance (pipelined answers keep request order), then `handler`, which answers
    /// malformed requests itself with the API's error shape.
    static func configure(_ pipeline: ChannelPipeline.SynchronousOperations, idleTimeout: TimeAmount,
                          handler: HTTPHandler) throws {
        try pipeline.addHandler(IdleStateHandler(readTimeout: idleTimeout), name: HTTPHandler.idleName)
        try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: false,
                                                 withOutboundHeaderValidation: false, withEncoderConfiguration: .init())
        try pipeline.addHandler(handler)
    }

    public func run() async throws {
        let hub = hub
        let api = api
        let packaged = packaged
        let access = access
        let metrics = metrics
        let readiness = readiness
        let recorded = recorded
        let (whep, whip) = (whep, whip)
        let logger = logger
        let open = open
        let idleTimeout = TimeAmount(configuration.idleTimeout)
        let maxConnections = configuration.maxConnections
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            // Up to 64 accepts per wakeup (NIO's default is 4): on a loop busy with thousands of
            // viewers, a wakeup can be 100 ms apart, and joiners would wait in the backlog.
            .serverChannelOption(.maxMessagesPerRead, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                let key = ObjectIdentifier(channel)
                let admitted = open.withLockedValue { open -> Bool in
                    guard open.count < maxConnections else { return false }
                    open[key] = channel
                    return true
                }
                guard admitted else {
                    logger.warning("HTTP connection refused: limit reached")
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in open.withLockedValue { $0[key] = nil } }
                return channel.eventLoop.makeCompletedFuture {
                    try Self.configure(channel.pipeline.syncOperations, idleTimeout: idleTimeout,
                                       handler: HTTPHandler(hub: hub, api: api, packaged: packaged, access: access, metrics: metrics,
                                                            readiness: readiness, recorded: recorded, whep: whep, whip: whip,
                                                            logger: logger))
                }
            }
        let listener = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        if let address = listener.localAddress {
            logger.info("listening", metadata: ["listener": "http", "address": "\(address)"])
            onBound(address)
        }
        try? await gracefulShutdown()
        try? await listener.close()
        for channel in open.withLockedValue({ Array($0.values) }) { channel.close(promise: nil) }
    }
}
