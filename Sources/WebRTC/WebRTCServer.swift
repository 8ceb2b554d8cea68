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
    }

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
        router = DatagramRouter(eventLoop: eventLoop, table: table)
    }

    /// Binds the UDP socket on `configuration.host:port` (SO_REUSEADDR) and starts answering;
    /// returns the bound port.
    public func start() async throws -> Int {
        let router = self.router
        let channel = try await DatagramBootstrap(group: eventLoop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)
            .channelOption(.socketOption(.so_sndbuf), value: 4 << 20)
            // recvmmsg: NIO cuts one receive buffer into a slot per datagram.
            .channelOption(.datagramVectorReadMessageCount, value: Self.datagramsPerRead)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: Self.datagramsPerRead * Self.maxDatagramBytes))
            .channelOption(.writeBufferWaterMark, value: .init(low: 8 << 20, high: 32 << 20))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    router.attach(channel)
                    try channel.pipeline.syncOperations.addHandler(DatagramHandler(router: router))
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        let port = channel.localAddress?.port ?? configuration.port
        socket.withLockedValue {
            $0.channel = channel
            $0.port = port
        }
        logger.info("WebRTC listening", metadata: ["address": "\(configuration.host):\(port)/udp"])
        if !SRTPLibrary.usesOpenSSLCrypto {
            // libsrtp2 then protects with its own AES (NSS here): about 8× the CPU per packet.
            logger.warning("SRTP uses libsrtp2's own ciphers: OpenSSL's could not be registered; WHEP viewers per core drop")
        }
        return port
    }

    /// Closes every session (reason "shutdown", with DTLS close_notify) and then the socket;
    /// `makeSession` throws from now on.
    public func shutdown() async {
        let channel = socket.withLockedValue {
            $0.shutDown = true
            return $0.channel
        }
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
