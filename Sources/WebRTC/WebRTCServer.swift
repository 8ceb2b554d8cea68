import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RTC
import SDP

/// The WebRTC transport: one UDP socket for every peer session (ICE-lite, DTLS-SRTP), on one
/// event loop of `group`. Sessions are made from SDP offers by WHEP and WHIP
/// (`makeSession`), live until closed, and are found again by id for DELETE.
public final class WebRTCServer: Sendable {
    public let configuration: WebRTCConfiguration
    public let certificate: RTCCertificate
    /// The loop the socket and every session run on.
    public let eventLoop: any EventLoop
    let router: DatagramRouter
    private let table = SessionTable()
    private let logger: Logger
    // start, shutdown and makeSession run on callers' threads and tasks, the socket lives on the loop
    private let socket = NIOLockedValueBox(SocketState())

    private struct SocketState: Sendable {
        var channel: (any Channel)?
        var port: Int?
        var shutDown = false
        /// Opening the socket again after a write error closed it (`shutdown` waits for it).
        var reopening: Task<Void, Never>?
        /// When the socket was last opened again, and the wait before the next reopen: a socket
        /// closed again within `reopenCalm` of its reopening waits twice as long (50 ms to 5 s),
        /// so a peer that can make writes fail cannot keep the loop binding sockets.
        var reopenedAt: ContinuousClock.Instant?
        var reopenDelay: Duration = .zero
        /// Times the socket was opened again.
        var reopens = 0
    }

    /// A socket that lived this long after its reopening resets the wait before the next one.
    static let reopenCalm: Duration = .seconds(30)

    /// Datagrams read per system call (recvmmsg).
    static let datagramsPerRead = 16
    /// The largest datagram read whole, in bytes; longer ones are cut (and then fail to parse).
    static let maxDatagramBytes = 2048

    /// - Parameter group: the socket takes one loop of it (`group.next()`).
    public init(configuration: WebRTCConfiguration, certificate: RTCCertificate, group: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.certificate = certificate
        self.logger = logger
        eventLoop = group.next()
        router = DatagramRouter(eventLoop: eventLoop, table: table,
                                segmentsDatagrams: configuration.segmentationOffload && System.supportsUDPSegmentationOffload)
    }

    /// Binds the UDP socket on `configuration.host:port` (SO_REUSEADDR) and starts answering;
    /// returns the bound port.
    public func start() async throws -> Int {
        let channel = try await bind(port: configuration.port)
        let port = channel.localAddress?.port ?? configuration.port
        socket.withLockedValue {
            $0.channel = channel
            $0.port = port
        }
        watch(channel)
        logger.info("WebRTC listening", metadata: ["address": "\(configuration.host):\(port)/udp",
                                                   "segmentation_offload": "\(router.segmentsDatagrams)"])
        if !SRTPLibrary.usesOpenSSLCrypto {
            // libsrtp2 then protects with its own AES (NSS here): about 8× the CPU per packet.
            logger.warning("SRTP uses libsrtp2's own ciphers: OpenSSL's could not be registered; WHEP viewers per core drop")
        }
        return port
    }

    /// A socket on `port`, attached to the router. Path MTU discovery is off (`PMTUDISC_PROBE`):
    /// WebRTC keeps its datagrams near 1200 bytes by itself, and a forged ICMP "fragmentation
    /// needed" lowering a peer's path MTU would otherwise make the kernel refuse that peer's
    /// segmented datagrams.
    private func bind(port: Int) async throws -> any Channel {
        let router = self.router
        var bootstrap = DatagramBootstrap(group: eventLoop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)
            .channelOption(.socketOption(.so_sndbuf), value: 4 << 20)
            // recvmmsg: NIO cuts one receive buffer into a slot per datagram.
            .channelOption(.datagramVectorReadMessageCount, value: Self.datagramsPerRead)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: Self.datagramsPerRead * Self.maxDatagramBytes))
            .channelOption(.writeBufferWaterMark, value: .init(low: 8 << 20, high: 32 << 20))
            .channelOption(ChannelOptions.Types.SocketOption(level: .ip, name: .init(rawValue: IP_MTU_DISCOVER)),
                           value: Int(IP_PMTUDISC_PROBE))
        if configuration.host.contains(":") {
            bootstrap = bootstrap.channelOption(ChannelOptions.Types.SocketOption(level: .ipv6, name: .init(rawValue: IPV6_MTU_DISCOVER)),
                                                value: Int(IPV6_PMTUDISC_PROBE))
        }
        return try await bootstrap
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    router.attach(channel)
                    try channel.pipeline.syncOperations.addHandler(DatagramHandler(router: router))
                }
            }
            .bind(host: configuration.host, port: port)
            .get()
    }

    /// Opens the socket again when `channel` closes without a shutdown: NIO closes a datagram
    /// socket on a write error it cannot pass over (a device refusing a segmented datagram, a
    /// destination the kernel will not send to), which would end every session on the node.
    /// Sessions are found by their peers' addresses, so on a new socket on the same port they
    /// go on; segmentation stays off from then on, in case it was the cause. Writes until then
    /// are dropped as backpressure.
    private func watch(_ channel: any Channel) {
        let router = self.router
        channel.closeFuture.whenComplete { [weak self] _ in
            guard let self else { return }
            let reopen: (port: Int, delay: Duration)? = socket.withLockedValue { state in
                guard !state.shutDown, state.channel === channel, let port = state.port else { return nil }
                state.channel = nil
                let quick = state.reopenedAt.map { ContinuousClock.now - $0 < Self.reopenCalm } ?? false
                state.reopenDelay = quick ? min(max(state.reopenDelay * 2, .milliseconds(50)), .seconds(5)) : .zero
                let delay = state.reopenDelay
                state.reopening = Task { await self.reopen(port: port, after: delay) }
                return (port, delay)
            }
            guard let reopen else { return }
            router.attach(nil)  // on the loop: the close callback runs there
            router.stopSegmenting()
            logger.error("WebRTC socket closed by a write error; opening it again, one packet per datagram",
                         metadata: ["port": "\(reopen.port)", "after": "\(reopen.delay)"])
        }
    }

    /// Binds `port` again after `delay`, retrying (50 ms doubling to 5 s) until it binds or the
    /// server shuts down.
    private func reopen(port: Int, after delay: Duration) async {
        var retry = Duration.milliseconds(50)
        try? await Task.sleep(for: delay)
        while !Task.isCancelled {
            do {
                let channel = try await bind(port: port)
                let kept = socket.withLockedValue { state -> Bool in
                    guard !state.shutDown else { return false }
                    (state.channel, state.reopening, state.reopenedAt) = (channel, nil, .now)
                    state.reopens += 1
                    return true
                }
                guard kept else { return await discard(channel) }
                watch(channel)
                logger.notice("WebRTC socket open again", metadata: ["port": "\(port)"])
                return
            } catch {
                logger.error("WebRTC socket could not be opened again; trying again",
                             metadata: ["port": "\(port)", "error": "\(error)", "after": "\(retry)"])
                try? await Task.sleep(for: retry)
                retry = min(retry * 2, .seconds(5))
            }
        }
    }

    /// Closes a socket bound after the shutdown began, and detaches it from the router.
    private func discard(_ channel: any Channel) async {
        let router = self.router
        try? await eventLoop.submit { router.attach(nil) }.get()
        try? await channel.close()
    }

    /// Times the socket was opened again after a write error closed it.
    public var socketReopens: Int {
        socket.withLockedValue { $0.reopens }
    }

    /// Closes every session (reason "shutdown", with DTLS close_notify) and then the socket;
    /// `makeSession` throws from now on.
    public func shutdown() async {
        let (channel, reopening) = socket.withLockedValue {
            $0.shutDown = true
            return ($0.channel, $0.reopening)
        }
        reopening?.cancel()
        await reopening?.value
        let router = self.router
        let sessions = table.all
        try? await eventLoop.submit {
            for session in sessions { session.close(reason: "shutdown") }
            router.flush()
            router.attach(nil)
        }.get()
        try? await channel?.close()
    }

    /// The port the socket is bound to; nil before `start`.
    public var port: Int? {
        socket.withLockedValue { $0.port }
    }

    /// Makes a session for `offer`: fresh local ICE credentials (8-char ufrag, 24-char pwd), the
    /// answer (SDP `makeAnswer` with this node's fingerprint and one host candidate,
    /// `advertisedAddress:advertisedPort ?? port`), registered by ufrag until ICE binds it to
    /// the peer's address. Its connect timeout starts now. Any thread.
    /// - Throws: past `maxSessions`, when the offer cannot be answered, or DTLS cannot be set up.
    public func makeSession(offer: WebRTCOffer, role: PeerRole, ssrcs: (video: UInt32?, audio: UInt32?), streamLabel: String,
                            delegate: any PeerSessionDelegate) throws(WebRTCError) -> PeerSession {
        try makeSession(offer: offer, role: role, ssrcs: ssrcs, streamLabel: streamLabel, delegate: delegate,
                        credentials: .random())
    }

    func makeSession(offer: WebRTCOffer, role: PeerRole, ssrcs: (video: UInt32?, audio: UInt32?), streamLabel: String,
                     delegate: any PeerSessionDelegate, credentials: SessionCredentials) throws(WebRTCError) -> PeerSession {
        guard !socket.withLockedValue({ $0.shutDown }) else { throw WebRTCError("the WebRTC server is shut down") }
        guard table.count < configuration.maxSessions else {
            throw WebRTCError("too many WebRTC sessions (\(configuration.maxSessions))")
        }
        let options = AnswerOptions(
            iceUfrag: credentials.ufrag, icePwd: credentials.pwd, fingerprint: certificate.fingerprint,
            candidates: [hostCandidate], direction: role == .whep ? .sendonly : .recvonly,
            videoSSRC: ssrcs.video, audioSSRC: ssrcs.audio, cname: String(credentials.sessionID.prefix(16)),
            streamLabel: streamLabel)
        let answer: WebRTCAnswer
        do {
            answer = try makeAnswer(to: offer, options: options)
        } catch {
            throw WebRTCError("offer cannot be answered: \(error.message)")
        }
        let dtls = try DTLSSession(role: .server, certificate: certificate, remoteFingerprint: offer.fingerprint,
                                   mtu: configuration.dtlsMTU)
        let session = PeerSession(id: credentials.sessionID, role: role, credentials: credentials, offer: offer, answer: answer,
                                  dtls: dtls, router: router, configuration: configuration, delegate: delegate)
        guard table.insert(session, ufrag: credentials.ufrag, limit: configuration.maxSessions) else {
            throw WebRTCError("too many WebRTC sessions (\(configuration.maxSessions)) or a credential clash")
        }
        session.start()
        // A shutdown that listed the sessions just before this one was registered.
        if socket.withLockedValue({ $0.shutDown }) { session.close(reason: "shutdown") }
        return session
    }

    /// The session with resource id `id`, while it is open.
    public func session(id: String) -> PeerSession? {
        table.session(id: id)
    }

    /// Every open session.
    public var sessions: [PeerSession] {
        table.all
    }

    /// Whether a frame's packets to a peer leave as segmented datagrams (UDP GSO: configured and
    /// supported by this kernel).
    public var segmentsDatagrams: Bool {
        router.segmentsDatagrams
    }

    /// Datagrams the server dropped, by reason.
    public var drops: DatagramDrops {
        router.drops
    }

    /// The host candidate every answer carries (RFC 8445 §5.1.2: type preference 126, local
    /// preference 65535, component 1).
    private var hostCandidate: ICECandidateLine {
        let port = configuration.advertisedPort ?? self.port ?? configuration.port
        return ICECandidateLine(foundation: "1", component: 1, transport: "udp", priority: 2_130_706_431,
                                address: configuration.advertisedAddress, port: port, type: "host", tcpType: nil)
    }
}

/// Hands the socket's datagrams to the router.
private final class DatagramHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let router: DatagramRouter

    init(router: DatagramRouter) {
        self.router = router
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        router.received(envelope.data, from: envelope.remoteAddress)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A UDP socket reports ICMP errors (a peer's port gone) here; the session's consent ends it.
    }
}
