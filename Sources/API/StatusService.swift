import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The status port of nodes that serve no API (`sluice ingest`, `sluice worker`): `GET` or
/// `HEAD` of `/healthz`, `/readyz` and `/metrics`, nothing else, so orchestrators and Prometheus
/// watch every node the same way. Nodes with the API role answer these on their HTTP port.
///
/// Why a server of its own rather than `HTTPService` without an API: `HTTPService` routes
/// playback (an ingest node's fan-out would answer HTTP-FLV on it), player pages, VOD and the
/// console, none of which belongs on a status port, and its handler is built around them. This
/// one shares only what should be the same everywhere: `ServerMetrics` (so metric names match
/// the API nodes'), the `ReadinessCheck` shape and the JSON error body of `/readyz`. It is small
/// by design: requests without bodies, at most `maxConnections` connections, each closed after
/// `idleTimeout` without a request.
public final class StatusService: Service {
    private let configuration: HTTPConfiguration
    private let metrics: ServerMetrics
    private let readiness: ReadinessCheck
    private let group: any EventLoopGroup
    private let logger: Logger
    private let onBound: @Sendable (SocketAddress) -> Void

    /// - Parameters:
    ///   - configuration: host and port (`--status-port`; 0 picks a free one); at most 64
    ///     connections are kept whatever it says, each idle for at most 10 s.
    ///   - readiness: what `/readyz` asks: nil when ready, else what is wrong (503 with it).
    public init(configuration: HTTPConfiguration, metrics: ServerMetrics, readiness: @escaping ReadinessCheck,
                group: any EventLoopGroup, logger: Logger, onBound: @escaping @Sendable (SocketAddress) -> Void = { _ in }) {
        self.configuration = HTTPConfiguration(host: configuration.host, port: configuration.port,
                                               idleTimeout: min(configuration.idleTimeout, .seconds(10)),
                                               maxConnections: min(configuration.maxConnections, 64))
        self.metrics = metrics
        self.readiness = readiness
        self.group = group
        self.logger = logger
        self.onBound = onBound
    }

    public func run() async throws {
        let (metrics, readiness) = (metrics, readiness)
        // A lock: connections open and close on every event loop; this only counts and closes them.
        let open = NIOLockedValueBox([ObjectIdentifier: any Channel]())
        let limit = configuration.maxConnections
        let idle = TimeAmount(configuration.idleTimeout)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let key = ObjectIdentifier(channel)
                guard open.withLockedValue({ open in
                    guard open.count < limit else { return false }
                    open[key] = channel
                    return true
                }) else { return channel.close() }
                channel.closeFuture.whenComplete { _ in open.withLockedValue { $0[key] = nil } }
                return channel.eventLoop.makeCompletedFuture {
                    let handlers = channel.pipeline.syncOperations
                    try handlers.addHandler(IdleStateHandler(readTimeout: idle))
                    try handlers.configureHTTPServerPipeline(withErrorHandling: true)
                    try handlers.addHandler(StatusHandler(metrics: metrics, readiness: readiness))
                }
            }
        let listener = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        if let address = listener.localAddress {
            logger.info("listening", metadata: ["listener": "status", "address": "\(address)"])
            onBound(address)
        }
        try? await gracefulShutdown()
        try? await listener.close()
        for channel in open.withLockedValue({ Array($0.values) }) { channel.close(promise: nil) }
    }
}

/// Answers one status request at a time on a connection (HTTP/1.1 keep-alive).
final class StatusHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let metrics: ServerMetrics
    private let readiness: ReadinessCheck
    private var request: HTTPRequestHead?

    init(metrics: ServerMetrics, readiness: @escaping ReadinessCheck) {
        self.metrics = metrics
        self.readiness = readiness
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): request = head
        case .body: break
        case .end:
            guard let head = request else { return }
            request = nil
            answer(head, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil) }
    }

    private func answer(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard head.method == .GET || head.method == .HEAD else {
            return send(APIResponse.error(APIError(.methodNotAllowed, code: "method_not_allowed", message: "Use GET or HEAD.")),
                        to: head, context: context)
        }
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let promise = context.eventLoop.makePromise(of: APIResponse.self)
        let (metrics, readiness) = (metrics, readiness)
        switch path {
        case "/healthz":
            promise.succeed(Self.ok)
        case "/readyz":
            promise.completeWithTask {
                guard let problem = await readiness() else { return Self.ok }
                return APIResponse.error(APIError(.serviceUnavailable, code: "not_ready", message: problem))
            }
        case "/metrics":
            promise.completeWithTask {
                APIResponse(status: .ok, headers: ["Content-Type": "text/plain; version=0.0.4"],
                            body: ByteBuffer(string: await metrics.render()))
            }
        default:
            promise.succeed(APIResponse.error(APIError(.notFound, code: "not_found",
                                                       message: "This port serves /healthz, /readyz and /metrics.")))
        }
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        promise.futureResult.whenSuccess { response in
            bound.value.handler.send(response, to: head, context: bound.value.context)
        }
    }

    private static var ok: APIResponse {
        APIResponse(status: .ok, headers: ["Content-Type": "application/json"], body: ByteBuffer(string: #"{"status":"ok"}"#))
    }

    private func send(_ response: APIResponse, to head: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = response.headers
        headers.replaceOrAdd(name: "Content-Length", value: "\(response.body?.readableBytes ?? 0)")
        headers.replaceOrAdd(name: "Cache-Control", value: "no-store")
        let keepAlive = head.isKeepAlive
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers))),
                      promise: nil)
        if head.method != .HEAD, let body = response.body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive { done.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) } }
    }
}
