import NIOConcurrencyHelpers
import NIOCore
import RTC
import SDP

/// One WebRTC peer on the server's socket: ICE-lite, a DTLS server handshake, then SRTP both
/// ways. Confined to `eventLoop` (the server's): call `sendRTP`/`sendRTCP` there; `close`,
/// `delegate`, `statistics`, `isConnected` and `remoteAddress` may be used from any thread.
public final class PeerSession: @unchecked Sendable {  // the loop-confined fields are only touched on `eventLoop`; what other threads read is copied into `shared` under its lock
    /// 32 hex digits, unguessable: the session's part of its resource URL.
    public let id: String
    public let role: PeerRole
    public let eventLoop: any EventLoop
    /// The SDP answer the peer gets.
    public let answer: WebRTCAnswer
    /// The peer's offer.
    public let offer: WebRTCOffer

    /// What other threads see, copied from the loop's fields when they change (statistics at
    /// most once per loop tick).
    struct Shared: Sendable {
        var remoteAddress: SocketAddress?
        var isConnected = false
        var closeReason: String?
        var statistics = PeerStatistics()
        var delegate: (any PeerSessionDelegate)?
    }

    let router: DatagramRouter
    let configuration: WebRTCConfiguration
    let localUfrag: String
    // what other threads may read (statistics, connected, address): published from the loop once a tick
    let shared: NIOLockedValueBox<Shared>
    // Loop-confined from here on.
    var ice: ICELiteAgent
    let dtls: DTLSSession
    var srtp: SRTPContext?
    var live = PeerStatistics()
    var liveDelegate: (any PeerSessionDelegate)?
    var rtcp = RTCPAccounting()
    var statisticsQueued = false
    var closed = false
    /// The transaction id of the probe awaiting an answer (`ICELiteAgent.probe`), as the router knows it.
    var probing: [UInt8]?
    var connectTimer: Scheduled<Void>?
    var consentTimer: Scheduled<Void>?
    var dtlsTimer: Scheduled<Void>?

    init(id: String, role: PeerRole, credentials: SessionCredentials, offer: WebRTCOffer, answer: WebRTCAnswer,
         dtls: DTLSSession, router: DatagramRouter, configuration: WebRTCConfiguration, delegate: any PeerSessionDelegate) {
        self.id = id
        self.role = role
        self.eventLoop = router.eventLoop
        self.offer = offer
        self.answer = answer
        self.dtls = dtls
        self.router = router
        self.configuration = configuration
        localUfrag = credentials.ufrag
        ice = ICELiteAgent(local: credentials, remoteUfrag: offer.iceUfrag, remotePwd: offer.icePwd)
        liveDelegate = delegate
        shared = NIOLockedValueBox(Shared(delegate: delegate))
    }

    /// The address ICE selected (where media goes); nil before the first valid check.
    public var remoteAddress: SocketAddress? {
        eventLoop.inEventLoop ? ice.selected : shared.withLockedValue { $0.remoteAddress }
    }

    /// Whether DTLS finished and SRTP is keyed (and the session has not closed).
    public var isConnected: Bool {
        eventLoop.inEventLoop ? srtp != nil && !closed : shared.withLockedValue { $0.isConnected }
    }

    /// Why the session closed; nil while it is open.
    public var closeReason: String? {
        shared.withLockedValue { $0.closeReason }
    }

    /// Who hears of connection, media and the close; cleared after `peerClosed`.
    public var delegate: (any PeerSessionDelegate)? {
        get { eventLoop.inEventLoop ? liveDelegate : shared.withLockedValue { $0.delegate } }
        set {
            shared.withLockedValue { $0.delegate = newValue }
            if eventLoop.inEventLoop {
                liveDelegate = closed ? nil : newValue
            } else {
                eventLoop.execute { self.liveDelegate = self.closed ? nil : self.shared.withLockedValue { $0.delegate } }
            }
        }
    }

    /// Counters and reports; on the event loop the current values, elsewhere as of the last loop tick.
    public var statistics: PeerStatistics {
        eventLoop.inEventLoop ? live : shared.withLockedValue { $0.statistics }
    }

    /// Protects a copy of the plain RTP packet `plain` and sends it to the peer. Dropped
    /// (counted as `notConnected`) before DTLS finishes or after the close. Call on `eventLoop`.
    public func sendRTP(_ plain: ByteBuffer) {
        sendRTP(CollectionOfOne(plain), payloadType: nil)
    }

    /// Protects copies of the plain RTP packets `plains` into one buffer, `payloadType` written
    /// over theirs when given, and sends them in order: a run of one size goes as one segmented
    /// datagram where the server segments (`SegmentedDatagrams`), else one datagram each. Dropped
    /// (counted as `notConnected`) before DTLS finishes or after the close. Call on `eventLoop`.
    public func sendRTP(_ plains: some Collection<ByteBuffer>, payloadType: UInt8?) {
        eventLoop.assertInEventLoop()
        guard !closed, let srtp, let address = ice.selected else { return drop(.notConnected, amount: plains.count) }
        let capacity = plains.reduce(0) { $0 + $1.readableBytes + SRTPContext.rtpTrailerRoom }
        var batch = router.allocator.buffer(capacity: capacity)
        var grouping = SegmentedDatagrams(segments: router.segmentsDatagrams)
        var datagrams: [SegmentedDatagrams.Datagram] = []
        for plain in plains {
            let offset = batch.writerIndex
            guard let length = try? srtp.appendProtectedRTP(plain, payloadType: payloadType, to: &batch) else {
                drop(.malformed)
                continue
            }
            if let datagram = grouping.add(offset: offset, length: length) { datagrams.append(datagram) }
        }
        if let datagram = grouping.finish() { datagrams.append(datagram) }
        // Sliced only once every packet is written: a slice taken earlier would make later writes copy.
        for datagram in datagrams {
            guard let slice = batch.getSlice(at: datagram.offset, length: datagram.length) else { continue }
            transmit(slice, packets: datagram.packets, segmentSize: datagram.segmentSize, to: address)
        }
    }

    /// Protects a copy of the plain compound RTCP packet `plain` and sends it. A sender report
    /// leading it is remembered for the RTT its receiver reports give. Call on `eventLoop`.
    public func sendRTCP(_ plain: ByteBuffer) {
        eventLoop.assertInEventLoop()
        guard !closed, let srtp, let address = ice.selected else { return drop(.notConnected) }
        rtcp.sending(plain, at: .now())
        guard let packet = try? srtp.protectedRTCP(copying: plain, allocator: router.allocator) else { return drop(.malformed) }
        transmit(packet, to: address)
    }

    /// Ends the session: DTLS close_notify to the peer, unregistered from the server, and
    /// `peerClosed(reason)` to the delegate (once; later calls do nothing). Any thread.
    public func close(reason: String) {
        guard eventLoop.inEventLoop else {
            eventLoop.execute { self.close(reason: reason) }
            return
        }
        guard !closed else { return }
        closed = true
        if let address = ice.selected {
            for datagram in dtls.close() { _ = router.write(datagram, to: address) }
        }
        for timer in [connectTimer, consentTimer, dtlsTimer] { timer?.cancel() }
        router.unregister(self, address: ice.selected, ufrag: localUfrag, probe: probing)
        let delegate = liveDelegate
        liveDelegate = nil
        shared.withLockedValue {
            $0.isConnected = false
            $0.closeReason = reason
            $0.statistics = live
            $0.delegate = nil
        }
        delegate?.peerClosed(self, reason: reason)
    }

    /// Writes a protected packet and counts it.
    private func transmit(_ packet: ByteBuffer, to address: SocketAddress) {
        transmit(packet, packets: 1, segmentSize: nil, to: address)
    }

    /// Writes a datagram of `packets` protected packets (cut at `segmentSize` by the kernel) and
    /// counts them.
    private func transmit(_ datagram: ByteBuffer, packets: Int, segmentSize: Int?, to address: SocketAddress) {
        guard router.write(datagram, to: address, segmentSize: segmentSize, packets: packets) else {
            live.drops.count(.backpressure, amount: packets)
            return
        }
        live.packetsSent &+= packets
        live.bytesSent &+= datagram.readableBytes
        statisticsChanged()
    }

    /// Whether the peer answered at the selected address within `window` of `now`.
    func hasConsent(within window: TimeAmount, at now: NIODeadline) -> Bool {
        guard let last = ice.lastConsent else { return false }
        return now - last < window
    }

    /// Counts dropped datagrams (one by default) here and at the server.
    func drop(_ reason: DropReason, amount: Int = 1) {
        live.drops.count(reason, amount: amount)
        router.count(reason, amount: amount)
        statisticsChanged()
    }

    /// Queues the statistics for publishing at the end of this tick.
    func statisticsChanged() {
        guard !statisticsQueued else { return }
        statisticsQueued = true
        router.statisticsChanged(self)
    }

    /// Copies what other threads read into `shared`.
    func publish() {
        statisticsQueued = false
        let connected = srtp != nil && !closed
        shared.withLockedValue {
            $0.statistics = live
            $0.remoteAddress = ice.selected
            $0.isConnected = connected
        }
    }
}
