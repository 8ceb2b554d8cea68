import CSRT
import Logging
import NIOConcurrencyHelpers

/// An SRT listener (live mode, UDP): each caller's handshake is decided by an `SRTAdmission`,
/// and each accepted caller is handed to an `SRTConnectionHandler` as an `SRTConnection`.
///
/// libsrt's own threads move the packets; this server adds one thread of its own (the SRT thread)
/// that accepts connections, reads publishers' data and delivers ends. `start()` binds and starts
/// it; `shutdown()` closes the listener and every connection and waits for the thread.
public final class SRTServer: Sendable {
    public let configuration: SRTServerConfiguration
    /// Handshakes completed and waiting for the SRT thread's `srt_accept`.
    static let backlog: Int32 = 256
    private let admission: any SRTAdmission
    private let handler: any SRTConnectionHandler
    private let logger: Logger
    private let poller: SRTPoller
    // guards the lifecycle (start once, shut down once) and the listener it made
    private let phase = NIOLockedValueBox(Phase.idle)

    private enum Phase {
        case idle
        case running(SRTListener, port: Int)
        case stopped
    }

    /// - Throws: `SRTError` `.startup` or `.poll` if libsrt cannot start.
    public init(configuration: SRTServerConfiguration, admission: any SRTAdmission, handler: any SRTConnectionHandler,
                logger: Logger = Logger(label: "sluice.srt")) throws {
        self.configuration = configuration
        self.admission = admission
        self.handler = handler
        self.logger = logger
        self.poller = try SRTPoller(logger: logger)
    }

    deinit { shutdown() }

    /// Binds, listens and starts the SRT thread.
    /// - Returns: the UDP port bound (the system's pick when the configuration's port is 0).
    /// - Throws: `SRTError` (`.bind` when the port is taken), or `.closed` if already started or
    ///   shut down.
    @discardableResult
    public func start() throws -> Int {
        try phase.withLockedValue { phase in
            guard case .idle = phase else { throw SRTError(.closed, "an SRT server starts once") }
            let listener = try makeListener()
            do {
                let port = try listener.socket.localAddress().port
                try poller.start(listener: listener)
                phase = .running(listener, port: port)
                logger.info("SRT: listening", metadata: ["host": "\(configuration.host)", "port": "\(port)"])
                return port
            } catch {
                listener.close()
                throw error
            }
        }
    }

    /// The port bound, nil before `start()` and after `shutdown()`.
    public var port: Int? {
        phase.withLockedValue {
            guard case .running(_, let port) = $0 else { return nil }
            return port
        }
    }

    /// The open connections, in no particular order.
    public var connections: [SRTConnection] { poller.connections }

    /// Stops listening, ends every connection (each `onClose` runs) and waits for the SRT thread
    /// (about 100 ms). Later calls do nothing. Called from the SRT thread itself (a handler), it
    /// does not wait.
    public func shutdown() {
        let wasRunning = phase.withLockedValue { phase in
            defer { phase = .stopped }
            if case .running = phase { return true }
            return false
        }
        poller.stop()
        poller.join(started: wasRunning)
    }

    private func makeListener() throws -> SRTListener {
        let socket = try SRTSocket()
        let listener = SRTListener(socket: socket, configuration: configuration, admission: admission,
                                   handler: handler, poller: poller, logger: logger)
        do {
            try socket.configureLive(blocking: false)
            try socket.options.set(SRTO_RCVLATENCY, Int32(configuration.latencyMs), "SRTO_RCVLATENCY")
            try socket.options.set(SRTO_PEERLATENCY, Int32(configuration.latencyMs), "SRTO_PEERLATENCY")
            // Accepted sockets inherit this (checked: a listener's 20 s reads back 20 s on them).
            let idle = Int32(clamping: configuration.peerIdleTimeout.nanoseconds / 1_000_000)
            try socket.options.set(SRTO_PEERIDLETIMEO, idle, "SRTO_PEERIDLETIMEO")
            if let keyLength = configuration.keyLength {
                try socket.options.set(SRTO_PBKEYLEN, keyLength.rawValue, "SRTO_PBKEYLEN")
            }
            try SRTSocketAddress.withSockaddr(host: configuration.host, port: configuration.port) { address, length in
                guard srt_bind(socket.id, address, length) == 0 else {
                    throw SRTError.last(.bind, "bind \(configuration.host):\(configuration.port)")
                }
            }
            let context = SRTHookContext(listener)
            guard srt_listen_callback(socket.id, srtListenHook, Unmanaged.passRetained(context).toOpaque()) == 0 else {
                throw SRTError.last(.bind, "srt_listen_callback")
            }
            // The backlog holds handshakes done but not yet accepted by the SRT thread; libsrt refuses
            // callers beyond it with its own reason 5 (backlog) before the admission is asked, so it
            // is not the connection limit (maxConnections, refused with 1503, is).
            guard srt_listen(socket.id, Self.backlog) == 0 else { throw SRTError.last(.bind, "srt_listen") }
        } catch {
            socket.close()
            throw error
        }
        return listener
    }
}

/// What libsrt's listen callback is given: a weak reference to the listener, so a callback that
/// runs while the server goes away refuses the caller instead of touching freed memory. One is
/// retained per server start and never released (a few bytes), since libsrt gives no point after
/// which the callback can no longer run.
private final class SRTHookContext: Sendable {
    weak let listener: SRTListener?

    init(_ listener: SRTListener) { self.listener = listener }
}

/// libsrt's listen callback: runs on libsrt's receive thread during each caller's handshake.
private func srtListenHook(_ opaque: UnsafeMutableRawPointer?, _ newSocket: SRTSOCKET, _ handshakeVersion: Int32,
                           _ peer: UnsafePointer<sockaddr>?, _ streamID: UnsafePointer<CChar>?) -> Int32 {
    guard let opaque,
          let listener = Unmanaged<SRTHookContext>.fromOpaque(opaque).takeUnretainedValue().listener else {
        _ = srt_setrejectreason(newSocket, SRTRejectReason.unavailable.code)
        return -1
    }
    return listener.decide(newSocket: newSocket, peer: peer, streamID: streamID)
}
