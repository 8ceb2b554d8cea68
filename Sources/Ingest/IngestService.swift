import Logging
import NIOCore
import NIOPosix
import NIOSSL
import RTMP
import ServiceLifecycle

/// The RTMP (and RTMPS) server: accepts encoders and players, runs each connection's handshake,
/// chunk decoding and session, and on shutdown stops accepting, tells every peer, and waits
/// (bounded) for them to go.
public final class IngestService: Service {
    /// Which listener a bound port belongs to.
    public enum Listener: String, Sendable {
        case rtmp
        case rtmps
    }

    private let environment: IngestEnvironment
    private let group: any EventLoopGroup
    private let registry = ConnectionRegistry()
    private let onBound: @Sendable (Listener, SocketAddress) -> Void

    /// - Parameter onBound: told the address of each listener once it is bound (port 0 resolved).
    public init(environment: IngestEnvironment, group: any EventLoopGroup,
                onBound: @escaping @Sendable (Listener, SocketAddress) -> Void = { _, _ in }) {
        self.environment = environment
        self.group = group
        self.onBound = onBound
    }

    public func run() async throws {
        let configuration = environment.configuration
        var listeners = [try await bind(.rtmp, port: configuration.rtmpPort, tls: nil)]
        if let tls = configuration.tls {
            listeners.append(try await bind(.rtmps, port: configuration.rtmpsPort, tls: tls))
        }
        try? await gracefulShutdown()
        for listener in listeners { try? await listener.close() }
        await drain()
    }

    private func bind(_ listener: Listener, port: Int, tls: NIOSSLContext?) async throws -> any Channel {
        let configuration = environment.configuration
        let policy = IngestPolicy(environment: environment, protocolName: listener.rawValue)
        let registry = registry
        let logger = environment.logger
        let session = RTMPServerSession.Configuration(applications: [configuration.application])
        let limits = ChunkDecoder.Limits(maxMessageSize: configuration.maxMessageSize)
        let handshakeTimeout = TimeAmount(configuration.handshakeTimeout)
        let idleTimeout = TimeAmount(configuration.idleTimeout)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            // Up to 64 accepts per wakeup (NIO's default is 4): on a loop busy with thousands of
            // viewers, a wakeup can be 100 ms apart, and joiners would wait in the backlog.
            .serverChannelOption(.maxMessagesPerRead, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let remote = channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "unknown"
                    guard registry.add(RTMPConnection(channel: channel, remoteAddress: remote),
                                       limit: configuration.maxConnections) else {
                        logger.warning("connection refused: limit reached", metadata: ["peer": "\(remote)"])
                        channel.close(promise: nil)
                        return
                    }
                    let handlers = channel.pipeline.syncOperations
                    if let tls { try handlers.addHandler(NIOSSLServerHandler(context: tls)) }
                    try handlers.addHandler(IdleStateHandler(readTimeout: idleTimeout), name: RTMPViewerSink.idleHandlerName)
                    try handlers.addHandler(RTMPHandshakeHandler(timeout: handshakeTimeout))
                    try handlers.addHandler(ByteToMessageHandler(ChunkDecoder(limits: limits)))
                    try handlers.addHandler(RTMPServerHandler(configuration: session, delegate: policy, logger: logger))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: configuration.host, port: port).get()
        } catch {
            throw IngestError(.bindFailed, "\(listener.rawValue) on \(configuration.host):\(port): \(error)")
        }
        if let address = channel.localAddress {
            logger.info("listening", metadata: ["listener": "\(listener.rawValue)", "address": "\(address)"])
            onBound(listener, address)
        }
        return channel
    }

    /// Tells every peer the server is going away and waits up to 5 s for the connections to close.
    private func drain() async {
        let connections = registry.all
        environment.logger.info("stopping ingest", metadata: ["connections": "\(connections.count)"])
        for connection in connections { connection.stop(description: "Server shutting down.") }
        // Each connection's close is waited for, five seconds at most; then the rest are closed.
        await withTaskGroup(of: Void.self) { waits in
            waits.addTask { for connection in connections { try? await connection.channel.closeFuture.get() } }
            waits.addTask { try? await Task.sleep(for: .seconds(5)) }
            await waits.next()
            waits.cancelAll()
            for connection in registry.all { try? await connection.channel.close() }
        }
    }
}
