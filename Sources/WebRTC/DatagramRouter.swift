import NIOConcurrencyHelpers
import NIOCore
import RTC
import Synchronization

/// The one UDP socket's traffic: demultiplexes each datagram (RFC 7983) to the session it is
/// for — STUN by the USERNAME's local ufrag, DTLS, SRTP and SRTCP by the source address ICE
/// bound — and batches every session's writes into one flush per event loop tick, so NIO
/// hands the kernel a vector of datagrams (sendmmsg).
final class DatagramRouter: @unchecked Sendable {  // every mutable field but `drops` is touched on `eventLoop` only; `drops` has its own lock
    let eventLoop: any EventLoop
    let table: SessionTable
    let allocator = ByteBufferAllocator()
    /// Whether a datagram may carry several packets for the kernel to cut apart (UDP GSO:
    /// configured and supported by this kernel, and not turned off after the socket failed).
    var segmentsDatagrams: Bool {
        segmentation.load(ordering: .relaxed)
    }
    private let segmentation: Synchronization.Atomic<Bool>
    private var channel: (any Channel)?
    private var byAddress: [SocketAddress: PeerSession] = [:]
    /// Sessions awaiting the answer to a probe of a new address, by the probe's transaction id
    /// (one per session).
    private var byProbe: [[UInt8]: PeerSession] = [:]
    private var flushScheduled = false
    private var changedSessions: [PeerSession] = []
    // drops are counted on the loop and read by /metrics and tests from any thread
    private let dropCounts = NIOLockedValueBox(DatagramDrops())

    init(eventLoop: any EventLoop, table: SessionTable, segmentsDatagrams: Bool = false) {
        self.eventLoop = eventLoop
        self.table = table
        segmentation = Synchronization.Atomic(segmentsDatagrams)
    }

    /// Datagrams dropped so far, by reason; any thread.
    var drops: DatagramDrops {
        dropCounts.withLockedValue { $0 }
    }

    /// The socket writes go to from now on; nil detaches it (writes are dropped).
    func attach(_ channel: (any Channel)?) {
        eventLoop.preconditionInEventLoop()
        self.channel = channel
    }

    /// Routes one datagram that arrived from `source`.
    func received(_ datagram: ByteBuffer, from source: SocketAddress) {
        switch PacketClass(firstBytes: datagram) {
        case .stun:
            receivedSTUN(datagram, from: source)
        case .dtls:
            guard let session = byAddress[source] else { return count(.unknownSource) }
            session.receivedDTLS(datagram)
        case .rtp:
            guard let session = byAddress[source] else { return count(.unknownSource) }
            session.receivedRTP(datagram)
        case .rtcp:
            guard let session = byAddress[source] else { return count(.unknownSource) }
            session.receivedRTCP(datagram)
        case .unknown:
            count(.unclassified)
        }
    }

    private func receivedSTUN(_ datagram: ByteBuffer, from source: SocketAddress) {
        guard source.isUnicastPeer else { return count(.unknownSource) }
        guard let message = try? STUNMessage(parsing: datagram) else { return count(.malformed) }
        if message.messageClass == .successResponse, let session = byProbe[message.transactionID] {
            return session.receivedProbeAnswer(message, raw: datagram, from: source)
        }
        // Besides the answers to its probes, a lite agent gets only requests.
        guard message.messageClass == .request else { return count(.unclassified) }
        guard let ufrag = ICELiteAgent.localUfrag(of: message), let session = table.session(ufrag: ufrag) else {
            return count(.unknownUser)
        }
        session.receivedSTUN(message, raw: datagram, from: source)
    }

    /// Counts dropped datagrams (one by default).
    func count(_ reason: DropReason, amount: Int = 1) {
        dropCounts.withLockedValue { $0.count(reason, amount: amount) }
    }

    /// Routes `address`'s datagrams to `session` from now on (ICE selected it), instead of to
    /// whatever had it, and forgets the session's `previous` address.
    func bind(_ session: PeerSession, to address: SocketAddress, previous: SocketAddress?) {
        if let previous, byAddress[previous] === session { byAddress[previous] = nil }
        byAddress[address] = session
    }

    /// How recently a session's peer must have answered for its address to stay its own: a
    /// browser checks consent every few seconds, so a holder silent this long is gone.
    static let addressHold: TimeAmount = .seconds(15)

    /// Whether `address` is where another session's media goes and that session's peer answered
    /// there within `addressHold`.
    func isHeld(_ address: SocketAddress, byAnotherThan session: PeerSession, now: NIODeadline) -> Bool {
        guard let holder = byAddress[address], holder !== session else { return false }
        return holder.hasConsent(within: Self.addressHold, at: now)
    }

    /// Routes the answer to probe `transactionID` to `session` (nil: none), forgetting its
    /// `previous` probe.
    func expectProbeAnswer(_ transactionID: [UInt8]?, for session: PeerSession, replacing previous: [UInt8]?) {
        if let previous, byProbe[previous] === session { byProbe[previous] = nil }
        if let transactionID { byProbe[transactionID] = session }
    }

    /// Probes whose answers are awaited (fuzzing checks none outlives its session).
    var probesAwaited: Int { byProbe.count }

    /// Forgets `session` entirely (it closed).
    func unregister(_ session: PeerSession, address: SocketAddress?, ufrag: String, probe: [UInt8]?) {
        if let address, byAddress[address] === session { byAddress[address] = nil }
        if let probe, byProbe[probe] === session { byProbe[probe] = nil }
        table.remove(session, ufrag: ufrag)
    }

    /// Queues `datagram` (`packets` packets) to `address`, for the kernel to cut into packets of
    /// `segmentSize` bytes when given (UDP GSO; only when `segmentsDatagrams`); the flush comes
    /// once this tick's work is done. False when there is no socket or its queue is past the high
    /// watermark (dropped, each packet counted).
    func write(_ datagram: ByteBuffer, to address: SocketAddress, segmentSize: Int? = nil, packets: Int = 1) -> Bool {
        guard let channel, channel.isWritable else {
            count(.backpressure, amount: packets)
            return false
        }
        let metadata = segmentSize.map {
            AddressedEnvelope<ByteBuffer>.Metadata(ecnState: .transportNotCapable, packetInfo: nil, segmentSize: $0)
        }
        channel.write(AddressedEnvelope(remoteAddress: address, data: datagram, metadata: metadata), promise: nil)
        scheduleFlush()
        return true
    }

    /// Sends one packet per datagram from now on.
    func stopSegmenting() {
        segmentation.store(false, ordering: .relaxed)
    }

    /// Has `session` publish its statistics for other threads at the end of this tick.
    func statisticsChanged(_ session: PeerSession) {
        changedSessions.append(session)
        scheduleFlush()
    }

    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        eventLoop.execute { self.flush() }
    }

    /// Sends everything written this tick in one go and publishes the sessions' statistics.
    func flush() {
        flushScheduled = false
        channel?.flush()
        let changed = changedSessions
        changedSessions.removeAll(keepingCapacity: true)
        for session in changed { session.publish() }
    }
}
