import Events
import Foundation
import Logging
import Media
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import RTMP
import State

/// Pushes one live stream to one destination over RTMP or RTMPS, for one publish session.
///
/// Every connection starts at a keyframe, with the stream's metadata and sequence headers sent
/// first and timestamps counted from that keyframe. A dropped connection or one that cannot be
/// made is retried after 1, 2, 4 … up to `maxBackoff` seconds; a destination that refuses the
/// publish (a wrong key, say) is marked failed and left alone. A destination slower than the
/// stream loses whole GOPs, never the publisher's time.
///
/// Every connection goes to an address resolved here and allowed by the destination policy
/// (a refused one fails the relay, not retried); the status and events carry Sluice's own
/// short messages, never text the destination sent.
final class RelayPusher: @unchecked Sendable {
    // Every `var` below is read and written on `loop` only; `status` has its own lock because the
    // worker reads it from elsewhere. That is why this class may be `@unchecked Sendable`.
    static let maxBackoff: Int64 = 30

    enum Event: Sendable {
        case started(reconnects: Int)
        case failed(reconnects: Int, error: String)
    }

    let target: RTMPPublishTarget
    private let loop: any EventLoop
    private let tls: NIOSSLContext?
    private let onEvent: @Sendable (Event) -> Void
    private let logger: Logger
    private let policy: DestinationPolicy
    private let resolver: DestinationResolver
    // A lock, not the loop: the worker reads the status from its own tasks, and a read never waits.
    private let status: NIOLockedValueBox<RelayStatus>

    private var channel: (any Channel)?
    private var live = false
    private var waitingForKeyframe = true
    /// The DTS the connection's timestamps count from: its first keyframe's; nil before it.
    private var baseTimestamp: Int64?
    private var headers: [MediaFrame.Kind: MediaFrame] = [:]
    private var hasVideo = false
    private var attempt: Int64 = 0
    private var retry: Scheduled<Void>?
    private var stopped = false

    init(target: RTMPPublishTarget, loop: any EventLoop, tls: NIOSSLContext?, policy: DestinationPolicy = .init(),
         resolver: DestinationResolver = DestinationResolver(), logger: Logger, onEvent: @escaping @Sendable (Event) -> Void) {
        self.target = target
        self.loop = loop
        self.tls = tls
        self.policy = policy
        self.resolver = resolver
        self.onEvent = onEvent
        self.logger = logger
        status = NIOLockedValueBox(RelayStatus(destination: target.description, state: .connecting))
    }

    var currentStatus: RelayStatus { status.withLockedValue { $0 } }

    func start() {
        loop.execute { self.connect() }
    }

    func stop() {
        loop.execute {
            self.stopped = true
            self.retry?.cancel()
            self.channel?.close(promise: nil)
        }
    }

    func send(_ frame: MediaFrame) {
        loop.execute { self.deliver(frame) }
    }

    // MARK: Connection

    private func connect() {
        guard !stopped else { return }
        update(.connecting)
        // The handler lives on `loop`, as does the channel the bootstrap makes on it.
        let handler = NIOLoopBound(RTMPClientHandler(target: target, eventLoop: loop), eventLoop: loop)
        let (published, closed) = (handler.value.published, handler.value.closed)
        let tls = tls
        let target = target
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.seconds(5))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if target.secure, let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: tls, serverHostname: Self.isAddress(target.host) ? nil : target.host))
                    }
                    try channel.pipeline.syncOperations.addHandler(handler.value)
                }
            }
        let checked = loop.makePromise(of: SocketAddress.self)
        let (resolver, policy) = (resolver, policy)
        checked.completeWithTask {
            let addresses = try await resolver.allowedAddresses(of: target.host, policy: policy)
            return try SocketAddress(ipAddress: addresses[0].description, port: target.port)
        }
        checked.futureResult.flatMap { bootstrap.connect(to: $0) }.hop(to: loop).whenComplete { result in
            switch result {
            case .success(let channel):
                self.connected(channel, published: published.futureResult, closed: closed.futureResult)
            case .failure(let error):
                published.fail(error)
                closed.succeed(nil)
                if case .refused(let refusal) = error as? DestinationFailure {
                    self.fail(refusal.description, detail: refusal.description)
                } else {
                    self.scheduleRetry(after: Self.summary(of: error))
                }
            }
        }
    }

    /// Marks the relay failed for this publish session: no more attempts.
    private func fail(_ message: String, detail: String) {
        update(.failed, error: message)
        let reconnects = status.withLockedValue { $0.reconnects }
        logger.warning("relay refused", metadata: ["destination": "\(target)", "error": "\(detail)"])
        onEvent(.failed(reconnects: reconnects, error: message))
    }

    /// Sluice's short message for what ended a connection: a refusing server's status code at
    /// most, never its description or other text it sent.
    static func summary(of error: any Error) -> String {
        switch error {
        case let failure as DestinationFailure:
            return failure.description
        case let rtmp as RTMPError:
            switch rtmp.code {
            case .refused:
                let code = rtmp.context.prefix { $0 != ":" }.prefix(64)
                let safe = code.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
                return safe && !code.isEmpty ? "the destination refused the publish (\(code))" : "the destination refused the publish"
            case .connectionClosed: return "the destination closed the connection"
            case .handshakeFailed, .handshakeTimeout: return "the RTMP handshake failed"
            default: return "the destination broke the RTMP protocol (\(rtmp.code.rawValue))"
            }
        case is NIOSSLError, is BoringSSLError, is NIOSSLExtraError:
            return "TLS handshake failed"
        case ChannelError.connectTimeout:
            return "connecting timed out"
        case is NIOConnectionError, is IOError, is ChannelError:
            return "could not connect"
        default:
            return "the connection failed"
        }
    }

    private func connected(_ channel: any Channel, published: EventLoopFuture<UInt32>,
                           closed: EventLoopFuture<RTMPError?>) {
        self.channel = channel
        if stopped { channel.close(promise: nil) }
        published.hop(to: loop).whenSuccess { _ in
            self.live = true
            self.waitingForKeyframe = true
            self.baseTimestamp = nil
            let reconnects = self.status.withLockedValue { $0.reconnects }
            self.update(.live)
            self.attempt = 0
            self.logger.info("relay live", metadata: ["destination": "\(self.target)"])
            self.onEvent(.started(reconnects: reconnects))
        }
        closed.hop(to: loop).whenSuccess { outcome in
            self.live = false
            self.channel = nil
            guard !self.stopped else { return }
            if let outcome, outcome.code == .refused {
                self.fail(Self.summary(of: outcome), detail: outcome.context)
            } else {
                self.scheduleRetry(after: outcome.map { Self.summary(of: $0) } ?? "the destination closed the connection")
            }
        }
    }

    private func scheduleRetry(after error: String) {
        guard !stopped else { return }
        let delay = min(Self.maxBackoff, Int64(1) << min(attempt, 5))
        attempt += 1
        update(.retrying, error: error, reconnect: true)
        logger.notice("relay retrying", metadata: ["destination": "\(target)", "in": "\(delay) s", "error": "\(error)"])
        retry = loop.scheduleTask(in: .seconds(delay)) { self.connect() }
    }

    private func update(_ state: RelayStatus.State, error: String? = nil, reconnect: Bool = false) {
        status.withLockedValue { status in
            status.state = state
            status.since = Date()
            if let error { status.lastError = error }
            if reconnect { status.reconnects += 1 }
        }
    }

    // MARK: Media

    private func deliver(_ frame: MediaFrame) {
        if frame.kind == .video { hasVideo = true }
        if frame.isConfiguration {
            headers[frame.kind] = frame
            if live, !waitingForKeyframe { write(frame) }
            return
        }
        guard live, let channel, frame.kind != .end else { return }
        if waitingForKeyframe {
            let startsHere = frame.kind == .video ? frame.isKeyframe : !hasVideo
            guard startsHere else { return }
            waitingForKeyframe = false
            if baseTimestamp == nil {
                // A new connection: headers first. (After a drop to a keyframe, time goes on.)
                baseTimestamp = frame.dts
                for kind in [MediaFrame.Kind.metadata, .video, .audio] {
                    if var header = headers[kind] {
                        header.dts = frame.dts
                        write(header)
                    }
                }
            }
        } else if !channel.isWritable {
            // The destination cannot keep up: drop to the next keyframe rather than queue.
            waitingForKeyframe = true
            return
        }
        write(frame)
        channel.flush()
    }

    private func write(_ frame: MediaFrame) {
        guard let channel else { return }
        let timestamp = UInt32(truncatingIfNeeded: max(0, frame.dts - (baseTimestamp ?? frame.dts)))
        let message: RTMPMessage
        switch frame.kind {
        case .video:
            message = RTMPMessage(type: .video, timestamp: timestamp, chunkStreamID: RTMPChunkStream.video, payload: frame.payload)
        case .audio:
            message = RTMPMessage(type: .audio, timestamp: timestamp, chunkStreamID: RTMPChunkStream.audio, payload: frame.payload)
        case .metadata:
            var body = ByteBuffer()
            body.writeAMF0(.string("@setDataFrame"))
            var payload = frame.payload
            body.writeBuffer(&payload)
            message = RTMPMessage(type: .dataAMF0, timestamp: timestamp, chunkStreamID: RTMPChunkStream.data, payload: body)
        case .end:
            return
        }
        let size = message.payload.readableBytes
        status.withLockedValue { $0.bytesSent += size }
        channel.write(message, promise: nil)
    }

    private static func isAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}
