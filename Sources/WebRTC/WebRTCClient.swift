import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RTC
import SDP

/// A minimal WebRTC peer for the load generator and tests, the other side of `WebRTCServer`:
/// its own UDP socket, an offer (recvonly to play over WHEP, sendonly to publish over WHIP),
/// then ICE as the controlling full agent against the server's ICE-lite (binding requests with
/// USE-CANDIDATE every `checkInterval` until answered), DTLS as client, and SRTP. Cheap enough
/// for a thousand in one process on a shared event loop group.
///
///     let client = try WebRTCClient(group: group, certificate: certificate, options: .init(role: .whep)) { packet in … }
///     let answer = try await post(client.offer)          // WHEP, or server.makeSession in tests
///     try await client.connect(answer: answer)
///
/// Confined to `eventLoop`; the public methods may be called from any thread.
public final class WebRTCClient: @unchecked Sendable {  // the loop-confined fields are only touched on `eventLoop`; `published` has its own lock
    public struct Options: Sendable {
        /// `.whep`: the client plays (recvonly offer); `.whip`: it publishes (sendonly offer).
        public var role: PeerRole
        /// Address the client's socket binds to (port 0). Default "127.0.0.1".
        public var localHost: String
        /// Binding requests are sent this often until one is answered (RFC 8445 §14: Ta). Default 500 ms.
        public var checkInterval: Duration
        /// Consent refresh once connected (RFC 7675 §5.1: about every 5 s); nil sends none.
        public var consentInterval: Duration?
        /// `connect` gives up after this long. Default 10 s.
        public var connectTimeout: Duration
        /// SSRCs announced in a sendonly offer.
        public var videoSSRC: UInt32
        public var audioSSRC: UInt32
        /// Where to send instead of the answer's candidate (a server that advertises an
        /// address this client cannot reach, such as a public name in front of loopback); nil
        /// uses the candidate.
        public var serverAddress: SocketAddress?
        /// Answer each sender report at once with a receiver report (LSR/DLSR set, loss and
        /// jitter from what arrived), so the server measures RTT. Default true.
        public var answersSenderReports: Bool
        /// Take UDP GRO datagrams (Linux `UDP_GRO`): the kernel hands over a run of equal-size
        /// packets a GSO sender sent in one datagram as one buffer with its segment size, and
        /// the client cuts it back into packets (`CoalescedDatagram`). The socket then reads
        /// into 64 KiB buffers. Where `System.supportsUDPReceiveOffload` is false this does
        /// nothing: the kernel splits the datagram as it does without it. Default false.
        public var receiveOffload: Bool
        /// Unprotect (authenticate and decrypt) every SRTP packet and hand it to `onRTP`.
        /// When false, RTP is never unprotected: its cleartext header (RFC 3711 §3.1 encrypts the
        /// payload only) is read for the counters and loss statistics and handed to
        /// `onRTPHeader`, and `onRTP` is never called; a header that does not parse is dropped
        /// as malformed. Unverified packets then count in `packetsReceived` and
        /// `rtpPacketsReceived`, and a forged or replayed one is not noticed: for a load
        /// generator whose core should not go to decrypting what a few verifying viewers
        /// check. SRTCP is always unprotected and verified. Default true.
        public var verifiesMedia: Bool

        public init(role: PeerRole, localHost: String = "127.0.0.1", checkInterval: Duration = .milliseconds(500),
                    consentInterval: Duration? = .seconds(5), connectTimeout: Duration = .seconds(10),
                    videoSSRC: UInt32 = 0x1000_0001, audioSSRC: UInt32 = 0x1000_0002, serverAddress: SocketAddress? = nil,
                    answersSenderReports: Bool = true, receiveOffload: Bool = false, verifiesMedia: Bool = true) {
            self.role = role
            self.localHost = localHost
            self.checkInterval = max(checkInterval, .milliseconds(10))
            self.consentInterval = consentInterval.map { max($0, .milliseconds(10)) }
            self.connectTimeout = connectTimeout
            self.videoSSRC = videoSSRC
            self.audioSSRC = audioSSRC
            self.serverAddress = serverAddress
            self.answersSenderReports = answersSenderReports
            self.receiveOffload = receiveOffload
            self.verifiesMedia = verifiesMedia
        }
    }

    enum Phase {
        case idle, checking, handshaking, connected, closed
    }

    public let options: Options
    public let eventLoop: any EventLoop
    /// The SDP offer to send (WHEP/WHIP POST body).
    public let offer: String
    /// Payload type → RTP clock rate of the offered codecs (for jitter).
    let clockRates: [UInt8: UInt32] = [ClientOffer.videoPayloadType: 90_000, ClientOffer.audioPayloadType: 48_000]
    let certificate: RTCCertificate
    let localUfrag: String
    let localPwd: String
    let tieBreaker = UInt64.random(in: .min ... .max)
    let onRTP: @Sendable (RTPPacket) -> Void
    let onRTPHeader: @Sendable (RTPHeader) -> Void
    let onRTCP: @Sendable ([RTCPPacket]) -> Void
    let onClose: @Sendable (String) -> Void
    let allocator = ByteBufferAllocator()
    // the loop publishes its counters here once a tick for readers on other threads
    let published = NIOLockedValueBox(Snapshot())
    // Loop-confined from here on.
    var phase = Phase.idle
    var channel: (any Channel)?
    var remote: RemoteDescription?
    var dtls: DTLSSession?
    var srtp: SRTPContext?
    /// Bytes of the negotiated SRTP profile's authentication tag, past each RTP packet's payload.
    var srtpTagLength = 0
    var pendingChecks: [[UInt8]] = []
    var checkTask: RepeatedTask?
    var dtlsTimer: Scheduled<Void>?
    var connectTimer: Scheduled<Void>?
    var connectPromise: EventLoopPromise<Void>?
    var live = PeerStatistics()
    var liveOffload = ReceiveOffloadStatistics()
    var tickQueued = false
    var lastRefusal: String?
    var rtcp = RTCPAccounting()
    var receivers: [UInt32: ReceiveStatistics] = [:]
    var arrivalClock = NIODeadline.now()

    /// - Parameters:
    ///   - certificate: the client's DTLS certificate; share one among many clients.
    ///   - onRTP: each decrypted RTP packet, on `eventLoop` (the trailing closure); only
    ///     with `options.verifiesMedia`.
    ///   - onRTPHeader: the cleartext header of each RTP packet, on `eventLoop`; only without
    ///     `options.verifiesMedia` (the payload is still encrypted, so none is handed over).
    ///   - onRTCP: each decrypted compound RTCP packet, on `eventLoop`.
    ///   - onClose: once, on `eventLoop`, when the client ends: why ("DTLS closed" when the
    ///     server closed the session, "connect timed out …", "closed" after `close()`).
    public init(group: any EventLoopGroup, certificate: RTCCertificate, options: Options,
                onRTP: @escaping @Sendable (RTPPacket) -> Void = { _ in },
                onRTPHeader: @escaping @Sendable (RTPHeader) -> Void = { _ in },
                onRTCP: @escaping @Sendable ([RTCPPacket]) -> Void = { _ in },
                onClose: @escaping @Sendable (String) -> Void = { _ in }) {
        let credentials = SessionCredentials.random()
        self.options = options
        self.certificate = certificate
        eventLoop = group.next()
        localUfrag = credentials.ufrag
        localPwd = credentials.pwd
        self.onRTP = onRTP
        self.onRTPHeader = onRTPHeader
        self.onRTCP = onRTCP
        self.onClose = onClose
        offer = ClientOffer.text(role: options.role, ufrag: credentials.ufrag, pwd: credentials.pwd,
                                 fingerprint: certificate.fingerprint, videoSSRC: options.videoSSRC, audioSSRC: options.audioSSRC)
    }

    /// Binds the socket, then runs ICE, DTLS and SRTP against `answer` (the server's SDP);
    /// returns once media can flow. Once only.
    /// - Throws: an answer without credentials, fingerprint or reachable candidate; no
    ///   binding response or DTLS failure within `connectTimeout`.
    public func connect(answer: String) async throws {
        let remote = try RemoteDescription(parsing: answer, override: options.serverAddress)
        var bootstrap = DatagramBootstrap(group: eventLoop)
        if options.receiveOffload, System.supportsUDPReceiveOffload {
            bootstrap = bootstrap.channelOption(.datagramReceiveOffload, value: true)
                .channelOption(.datagramReceiveSegmentSize, value: true)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: CoalescedDatagram.maxBytes))
        }
        let channel = try await bootstrap
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ClientDatagramHandler(client: self))
                }
            }
            .bind(host: options.localHost, port: 0)
            .get()
        try await eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
            self.begin(channel: channel, remote: remote)
        }.get()
    }

    /// The local port (after `connect` bound it).
    public var localAddress: SocketAddress? {
        get async {
            try? await eventLoop.submit { self.channel?.localAddress }.get()
        }
    }

    /// Protects a copy of the plain RTP packet and sends it; dropped before `connect` finished.
    public func sendRTP(_ plain: ByteBuffer) {
        onLoop { $0.send(plain, rtcp: false) }
    }

    /// Protects a copy of the plain compound RTCP packet and sends it.
    public func sendRTCP(_ plain: ByteBuffer) {
        onLoop { $0.send(plain, rtcp: true) }
    }

    /// Stops consent refreshes (the server's consent timer then closes the session), for tests.
    public func stopConsent() {
        onLoop { $0.checkTask?.cancel() }
    }

    /// Sends DTLS close_notify and closes the socket. Call it for every client, also one whose
    /// `connect` failed or that the server closed: the socket stays open until then.
    public func close() async {
        try? await eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
            self.finish(WebRTCError("closed"))
            guard let channel = self.channel else { return self.eventLoop.makeSucceededVoidFuture() }
            self.channel = nil
            return channel.close()
        }.get()
    }

    /// Counters as of the last event loop tick (on the loop: now).
    public var statistics: PeerStatistics {
        eventLoop.inEventLoop ? live : published.withLockedValue { $0.statistics }
    }

    /// GRO datagrams taken as of the last event loop tick (on the loop: now); all zero
    /// without `options.receiveOffload` or where the kernel has no UDP GRO.
    public var receiveOffloadStatistics: ReceiveOffloadStatistics {
        eventLoop.inEventLoop ? liveOffload : published.withLockedValue { $0.offload }
    }

    /// Whether ICE, DTLS and SRTP are done and the client is not closed.
    public var isConnected: Bool {
        get async {
            (try? await eventLoop.submit { self.phase == .connected }.get()) ?? false
        }
    }

    private func onLoop(_ body: @escaping @Sendable (WebRTCClient) -> Void) {
        if eventLoop.inEventLoop {
            body(self)
        } else {
            eventLoop.execute { body(self) }
        }
    }
}

/// What the client counts of UDP GRO (`WebRTCClient.Options.receiveOffload`).
public struct ReceiveOffloadStatistics: Sendable, Equatable {
    /// Buffers that arrived with a segment size (the kernel coalesced a GSO datagram).
    public var coalescedDatagrams = 0
    /// The packets cut out of them.
    public var segments = 0

    public init() {}
}

extension WebRTCClient {
    /// What the loop publishes once a tick for readers on other threads.
    struct Snapshot: Sendable {
        var statistics = PeerStatistics()
        var offload = ReceiveOffloadStatistics()
    }
}

/// Hands the client socket's datagrams to the client, a GRO buffer cut into its packets.
private final class ClientDatagramHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let client: WebRTCClient

    init(client: WebRTCClient) {
        self.client = client
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard let segmentSize = envelope.metadata?.segmentSize else {
            return client.received(envelope.data, from: envelope.remoteAddress)
        }
        client.received(coalesced: envelope.data, segmentSize: segmentSize, from: envelope.remoteAddress)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {}
}

/// The packets of one UDP GRO buffer: `segmentSize` bytes each, the last possibly shorter
/// (udp(7) `UDP_GRO`: the kernel joins datagrams of one flow of the same size, and at most one
/// shorter one at the end, and reports the size). Slices of the buffer, no copy. A size ≤ 0 or
/// more than `maxSegments` packets does not make one: the size comes from a control message
/// and the buffer from the network.
struct CoalescedDatagram: Sequence {
    /// Packets in one buffer at most: the kernel's `UDP_MAX_SEGMENTS` (128 since Linux 6.9, 64 before).
    static let maxSegments = 128
    /// The receive buffer for GRO: the largest UDP payload fits.
    static let maxBytes = 65_536

    let buffer: ByteBuffer
    let segmentSize: Int
    /// Packets the buffer holds (0 for an empty one).
    let count: Int

    init?(_ buffer: ByteBuffer, segmentSize: Int) {
        guard segmentSize > 0 else { return nil }
        let (whole, rest) = buffer.readableBytes.quotientAndRemainder(dividingBy: segmentSize)
        let count = whole + (rest > 0 ? 1 : 0)
        guard count <= Self.maxSegments else { return nil }
        self.buffer = buffer
        self.segmentSize = segmentSize
        self.count = count
    }

    func makeIterator() -> Iterator {
        Iterator(rest: buffer, segmentSize: segmentSize)
    }

    struct Iterator: IteratorProtocol {
        var rest: ByteBuffer
        let segmentSize: Int

        mutating func next() -> ByteBuffer? {
            guard rest.readableBytes > 0 else { return nil }
            return rest.readSlice(length: Swift.min(segmentSize, rest.readableBytes))
        }
    }
}
