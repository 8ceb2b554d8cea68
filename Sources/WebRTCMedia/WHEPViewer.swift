import Events
import NIOCore
import RTC
import SDP
import WebRTC

/// One WHEP viewer: the delegate of its `PeerSession`, fed by its stream's `RTPStreamSource`.
///
/// Nothing is sent before the peer connects (DTLS done); then the cached GOP, then live packets,
/// each with the payload type the viewer negotiated written over the source's (the marker bit
/// kept), into a copy only when they differ. RTCP from the viewer: NACKs are answered from the
/// source's retransmission buffers (RFC 4585 §6.2.1), PLI/FIR with the cached GOP at most once per
/// `keyframeResendInterval` (RFC 4585 §6.3.1, RFC 5104 §4.3.1); receiver reports feed the
/// session's `PeerStatistics`. Sender reports go out once a second per track (RFC 3550 §6.4.1).
///
/// Confined to the session's event loop, which is the source's (`@unchecked Sendable` for that).
final class WHEPViewer: PeerSessionDelegate, @unchecked Sendable {
    let source: RTPStreamSource
    let clientIP: String?
    private(set) weak var session: PeerSession?
    private(set) var sessionID = ""
    private(set) var isConnected = false
    private var isClosed = false
    private var videoPayloadType: UInt8?
    private var audioPayloadType: UInt8?
    /// Per track: RTP packets and payload octets sent to this viewer (sender report counts).
    private var sent: (video: (packets: UInt32, octets: UInt32), audio: (packets: UInt32, octets: UInt32)) = ((0, 0), (0, 0))
    private(set) var retransmitted = 0
    private(set) var keyframeResends = 0
    private var lastKeyframeResend: NIODeadline?
    /// Resends this viewer may still ask for (a token bucket: `resendsPerSecond`, at most that many
    /// banked), and when it was last filled.
    private var resendBudget = Double(WHEPViewer.resendsPerSecond)
    private var budgetFilledAt = NIODeadline.now()
    /// NACKed packets not resent: asked again too soon, or beyond the budget.
    private(set) var resendsRefused = 0
    /// A GOP (and what came after it) being sent `burstPackets` every `burstInterval`; the next
    /// burst while it drains.
    private var paced = PacedQueue()
    private var nextBurst: Scheduled<Void>?
    /// Live packets queued behind the GOP since the last burst: the next burst takes them too, so
    /// the queue never grows while it drains.
    private var queuedSinceBurst = 0

    /// Packets of a paced GOP per burst, and the time between bursts: 32 packets (about 38 KB)
    /// every 10 ms, about 30 Mbit/s, so a 2 s GOP of a 1.5 Mbit/s stream arrives in about 0.1 s.
    static let burstPackets = 32
    static let burstInterval: TimeAmount = .milliseconds(10)

    /// The shortest time between two GOPs sent for keyframe requests.
    static let keyframeResendInterval: TimeAmount = .milliseconds(500)
    /// Packets a viewer's NACKs may have resent per second: about 6 Mbit/s of 1200-byte packets,
    /// far above what a real viewer's loss asks, and what bounds a hostile one (a 2 KB SRTCP
    /// datagram can name thousands of sequence numbers, each of them many times).
    static let resendsPerSecond = 600

    init(source: RTPStreamSource, clientIP: String?) {
        self.source = source
        self.clientIP = clientIP
    }

    /// Binds the viewer to the session made for it, and reads the negotiated payload types.
    func bind(_ session: PeerSession) {
        self.session = session
        sessionID = session.id
        videoPayloadType = session.answer.video?.payloadType
        audioPayloadType = session.answer.audio?.payloadType
    }

    // MARK: Sending

    /// Sends the source's packets of `track` (once connected), in order and in one batch (a
    /// frame's packets leave together); behind a paced GOP while one drains.
    func send(_ packets: some Collection<ByteBuffer>, track: RTPStreamSource.Track) {
        guard isConnected, !packets.isEmpty else { return }
        guard paced.isEmpty else {
            queuedSinceBurst += packets.count
            return paced.append(packets, track: track)
        }
        transmit(packets, track: track)
    }

    /// Whether a GOP is being sent a burst at a time.
    var isPacing: Bool { !paced.isEmpty }

    /// Sends a cached GOP (on joining, on a keyframe request) a burst at a time, the packets
    /// that come meanwhile behind it.
    func sendPaced(_ packets: [ByteBuffer], track: RTPStreamSource.Track) {
        guard isConnected, !packets.isEmpty else { return }
        let idle = paced.isEmpty
        paced.append(packets, track: track)
        if idle { sendBurst() }
    }

    private func sendBurst() {
        nextBurst = nil
        guard isConnected else { return paced.removeAll() }
        let burst = Self.burstPackets + queuedSinceBurst
        queuedSinceBurst = 0
        for run in paced.take(burst) { transmit(run.packets, track: run.track) }
        guard !paced.isEmpty else { return }
        nextBurst = source.eventLoop.scheduleTask(in: Self.burstInterval) { [weak self] in self?.sendBurst() }
    }

    /// Hands packets to the session, their payload type rewritten when the viewer negotiated
    /// another, and counts them for sender reports.
    private func transmit(_ packets: some Collection<ByteBuffer>, track: RTPStreamSource.Track) {
        guard let session else { return }
        let (negotiated, own): (UInt8?, UInt8) = switch track {
        case .video: (videoPayloadType, RTPStreamSource.videoPayloadType)
        case .audio: (audioPayloadType, RTPStreamSource.audioPayloadType)
        }
        guard let negotiated else { return }
        session.sendRTP(packets, payloadType: negotiated == own ? nil : negotiated)
        let octets = packets.reduce(UInt32(0)) { $0 &+ UInt32(truncatingIfNeeded: max(0, $1.readableBytes - 12)) }
        let count = UInt32(truncatingIfNeeded: packets.count)
        switch track {
        case .video: sent.video = (sent.video.packets &+ count, sent.video.octets &+ octets)
        case .audio: sent.audio = (sent.audio.packets &+ count, sent.audio.octets &+ octets)
        }
    }

    /// A sender report for each track this viewer has been sent packets of.
    func sendSenderReports(ntp: UInt64, video: UInt32?, audio: UInt32?) {
        guard let session else { return }
        if let video, videoPayloadType != nil, sent.video.packets > 0 {
            session.sendRTCP(Self.senderReport(ssrc: source.videoSSRC, ntp: ntp, rtp: video, counts: sent.video))
        }
        if let audio, audioPayloadType != nil, sent.audio.packets > 0 {
            session.sendRTCP(Self.senderReport(ssrc: source.audioSSRC, ntp: ntp, rtp: audio, counts: sent.audio))
        }
    }

    private static func senderReport(ssrc: UInt32, ntp: UInt64, rtp: UInt32, counts: (packets: UInt32, octets: UInt32)) -> ByteBuffer {
        let report = RTCPSenderReport(ssrc: ssrc, ntpTime: ntp, rtpTimestamp: rtp, packetCount: counts.packets,
                                      octetCount: counts.octets, reports: [])
        var buffer = ByteBuffer()
        RTCPPacket.senderReport(report).write(into: &buffer)
        return buffer
    }

    /// Closes the session (the stream ended, the source stopped, a DELETE).
    func close(reason: String) {
        session?.close(reason: reason)
        left()
    }

    private func left() {
        guard !isClosed else { return }
        isClosed = true
        isConnected = false
        nextBurst?.cancel()
        nextBurst = nil
        paced.removeAll()
        queuedSinceBurst = 0
        source.board.remove(session: sessionID)
        source.remove(self)
    }

    // MARK: PeerSessionDelegate

    func peerConnected(_ session: PeerSession) {
        guard !isClosed else { return }
        isConnected = true
        source.viewerConnected(self)
    }

    func peer(_ session: PeerSession, receivedRTP packet: RTPPacket) {
        // A WHEP viewer sends no media; anything it sends is ignored.
    }

    func peer(_ session: PeerSession, receivedRTCP packets: [RTCPPacket]) {
        guard isConnected else { return }
        for packet in packets {
            switch packet {
            case .nack(let nack): answer(lost: nack.lost, ssrc: nack.mediaSSRC)
            case .pli(_, let ssrc), .fir(_, let ssrc): keyframeRequested(ssrc: ssrc)
            default: continue  // receiver reports: the session's statistics read them
            }
        }
    }

    func peerClosed(_ session: PeerSession, reason: String) {
        left()
    }

    // MARK: Repairs

    private func answer(lost sequences: [UInt16], ssrc: UInt32) {
        refillBudget()
        var seen = Set<UInt16>()
        var resends: (video: [ByteBuffer], audio: [ByteBuffer]) = ([], [])
        for sequence in sequences.prefix(512) where seen.insert(sequence).inserted {
            guard resendBudget >= 1 else {
                resendsRefused += 1
                continue
            }
            guard let (packet, track) = source.retransmission(ssrc: ssrc, sequence: sequence) else { continue }
            resendBudget -= 1
            switch track {
            case .video: resends.video.append(packet)
            case .audio: resends.audio.append(packet)
            }
            retransmitted += 1
        }
        // Straight out, not behind a paced GOP: a repair is only useful soon, and order does not matter to it.
        if isConnected, !resends.video.isEmpty { transmit(resends.video, track: .video) }
        if isConnected, !resends.audio.isEmpty { transmit(resends.audio, track: .audio) }
    }

    private func refillBudget() {
        let now = NIODeadline.now()
        let seconds = Double((now - budgetFilledAt).nanoseconds) / 1e9
        budgetFilledAt = now
        resendBudget = min(Double(Self.resendsPerSecond), resendBudget + max(0, seconds) * Double(Self.resendsPerSecond))
    }

    private func keyframeRequested(ssrc: UInt32) {
        // Some senders name SSRC 0 as the media source of a PLI/FIR; every keyframe is video.
        guard ssrc == source.videoSSRC || ssrc == 0 else { return }
        let now = NIODeadline.now()
        if let last = lastKeyframeResend, now - last < Self.keyframeResendInterval { return }
        guard !isPacing else { return }  // the GOP is on its way already
        lastKeyframeResend = now
        keyframeResends += 1
        source.resendGOP(to: self)
    }

    // MARK: Statistics

    func statistics() -> WebRTCViewerStatistics {
        let peer = session?.statistics
        return WebRTCViewerStatistics(
            stream: source.stream, session: sessionID, role: .whep, clientIP: clientIP, rttMs: peer?.rttMs,
            fractionLost: peer?.fractionLost ?? 0, packetsLost: peer?.packetsLost ?? 0,
            nacksReceived: peer?.nacksReceived ?? 0, plisReceived: peer?.plisReceived ?? 0, retransmitted: retransmitted,
            packetsSent: peer?.packetsSent ?? 0, bytesSent: peer?.bytesSent ?? 0,
            connectedSeconds: peer?.connectedSeconds() ?? 0)
    }
}
