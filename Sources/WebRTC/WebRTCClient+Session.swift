import NIOCore
import RTC
import SDP

/// The client's ICE checks, DTLS, SRTP and reports; everything on `eventLoop`.
extension WebRTCClient {
    /// The PRIORITY a check carries: a peer-reflexive candidate's (RFC 8445 §7.1.1).
    static let checkPriority = ICECandidateLine.priority(typePreference: 110, localPreference: 65_535, component: 1)

    func begin(channel: any Channel, remote: RemoteDescription) -> EventLoopFuture<Void> {
        guard phase == .idle else { return eventLoop.makeFailedFuture(WebRTCError("connect called twice")) }
        self.channel = channel
        self.remote = remote
        do {
            dtls = try DTLSSession(role: .client, certificate: certificate, remoteFingerprint: remote.fingerprint)
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        phase = .checking
        let promise = eventLoop.makePromise(of: Void.self)
        connectPromise = promise
        connectTimer = eventLoop.scheduleTask(in: TimeAmount(options.connectTimeout)) {
            self.finish(WebRTCError("connect timed out while \(self.phase)\(self.lastRefusal.map { " (\($0))" } ?? "")"))
        }
        checkTask = eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: TimeAmount(options.checkInterval)) { _ in
            self.sendCheck()
        }
        return promise.futureResult
    }

    /// One binding request to the server, nominating (USE-CANDIDATE) as the controlling agent.
    func sendCheck() {
        guard phase != .closed, let remote else { return }
        let id = STUNMessage.newTransactionID()
        pendingChecks.append(id)
        if pendingChecks.count > 8 { pendingChecks.removeFirst() }
        let request = STUNMessage.bindingRequest(transactionID: id, username: "\(remote.iceUfrag):\(localUfrag)",
                                                 priority: Self.checkPriority, controlling: tieBreaker, useCandidate: true,
                                                 integrityKey: Array(remote.icePwd.utf8))
        write(request)
    }

    /// A UDP GRO buffer: each of its packets as a datagram of its own; the whole buffer dropped
    /// as malformed when its segment size or count is out of bounds (`CoalescedDatagram`).
    func received(coalesced buffer: ByteBuffer, segmentSize: Int, from source: SocketAddress) {
        guard let packets = CoalescedDatagram(buffer, segmentSize: segmentSize) else { return drop(.malformed) }
        liveOffload.coalescedDatagrams &+= 1
        liveOffload.segments &+= packets.count
        for packet in packets { received(packet, from: source) }
    }

    func received(_ datagram: ByteBuffer, from source: SocketAddress) {
        guard phase != .closed, let remote, source == remote.address else { return drop(.unknownSource) }
        switch PacketClass(firstBytes: datagram) {
        case .stun: receivedSTUN(datagram, remote: remote)
        case .dtls: receivedDTLS(datagram)
        case .rtp: receivedRTP(datagram)
        case .rtcp: receivedRTCP(datagram)
        case .unknown: drop(.unclassified)
        }
    }

    private func receivedSTUN(_ datagram: ByteBuffer, remote: RemoteDescription) {
        guard let message = try? STUNMessage(parsing: datagram) else { return drop(.malformed) }
        if message.messageClass == .request { return answer(message, raw: datagram, remote: remote) }
        guard pendingChecks.contains(message.transactionID) else { return drop(.unclassified) }
        if message.messageClass == .errorResponse {
            lastRefusal = message.errorCode.map { "STUN \($0.code) \($0.reason)" }
            return drop(.badIntegrity)
        }
        guard message.messageClass == .successResponse, STUNMessage.verify(datagram, integrityKey: Array(remote.icePwd.utf8)) else {
            return drop(.badIntegrity)
        }
        pendingChecks.removeAll()
        guard phase == .checking, let dtls else { return }
        phase = .handshaking
        for flight in dtls.start() { write(flight) }
        dtlsProgressed()
    }

    private func receivedDTLS(_ datagram: ByteBuffer) {
        guard let dtls, phase == .handshaking || phase == .connected else { return drop(.notConnected) }
        for reply in dtls.received(datagram) { write(reply) }
        dtlsProgressed()
    }

    private func dtlsProgressed() {
        dtlsTimer?.cancel()
        dtlsTimer = nil
        guard let dtls else { return }
        switch dtls.state {
        case .handshaking:
            guard let timeout = dtls.timeout else { return }
            dtlsTimer = eventLoop.scheduleTask(in: TimeAmount(timeout)) { self.dtlsTimedOut() }
        case .connected(let keys):
            guard srtp == nil else { return }
            do {
                srtp = try SRTPContext(keys: keys)
            } catch {
                return finish(error)
            }
            srtpTagLength = SRTPProfile(rawValue: keys.profile)?.tagLength ?? 0
            connected()
        case .failed(let reason):
            finish(WebRTCError("DTLS failure: \(reason)"))
        case .closed:
            finish(WebRTCError("DTLS closed"))
        }
    }

    /// Answers the server's own binding request (a lite agent probing a new address of ours
    /// before it moves media there), as a full agent answers any check with its credentials.
    private func answer(_ request: STUNMessage, raw: ByteBuffer, remote: RemoteDescription) {
        let key = Array(localPwd.utf8)
        guard request.method == STUNMessage.Method.binding.rawValue, request.username == "\(localUfrag):\(remote.iceUfrag)",
              STUNMessage.verify(raw, integrityKey: key) else { return drop(.badIntegrity) }
        write(STUNMessage.bindingSuccess(transactionID: request.transactionID, mapped: remote.address, integrityKey: key))
    }

    private func dtlsTimedOut() {
        guard phase == .handshaking, let dtls else { return }
        for datagram in dtls.handleTimeout() { write(datagram) }
        dtlsProgressed()
    }

    private func connected() {
        phase = .connected
        connectTimer?.cancel()
        checkTask?.cancel()
        checkTask = nil
        live.connectedAt = .now()
        statisticsChanged()
        if let interval = options.consentInterval {
            let delay = TimeAmount(interval)
            checkTask = eventLoop.scheduleRepeatedTask(initialDelay: delay, delay: delay) { _ in self.sendCheck() }
        }
        connectPromise?.succeed()
        connectPromise = nil
    }

    private func receivedRTP(_ datagram: ByteBuffer) {
        guard let srtp else { return drop(.notConnected) }
        guard options.verifiesMedia else { return receivedRTPHeader(datagram) }
        var packet = datagram
        do {
            try srtp.unprotectRTP(&packet)
        } catch {
            return drop(.decryptFailed)
        }
        guard let parsed = try? RTPPacket(parsing: packet) else { return drop(.malformed) }
        count(received: datagram.readableBytes)
        live.rtpPacketsReceived &+= 1
        noteArrival(parsed.header)
        onRTP(parsed)
    }

    /// `options.verifiesMedia` off: the packet's counters and statistics from its cleartext
    /// header, nothing decrypted or authenticated.
    private func receivedRTPHeader(_ datagram: ByteBuffer) {
        guard let header = Self.cleartextHeader(of: datagram, tagLength: srtpTagLength) else { return drop(.malformed) }
        count(received: datagram.readableBytes)
        live.rtpPacketsReceived &+= 1
        noteArrival(header)
        onRTPHeader(header)
    }

    /// The RTP header of an SRTP packet, read without unprotecting it: RFC 3711 §3.1 encrypts
    /// only the payload, and the `tagLength`-byte authentication tag follows it. The padding
    /// count lies in the encrypted payload, so padding is not checked (`paddingLength` 0); the
    /// rest is checked as `RTPHeader(parsing:)` does. Nil when it does not parse.
    static func cleartextHeader(of packet: ByteBuffer, tagLength: Int) -> RTPHeader? {
        let length = packet.readableBytes - max(tagLength, 0)
        guard length >= RTPHeader.fixedLength, let first = packet.getInteger(at: packet.readerIndex, as: UInt8.self),
              var protected = packet.getSlice(at: packet.readerIndex, length: length) else { return nil }
        if first & 0x20 != 0 {  // padding set: parse a copy without it (rare; Sluice never pads)
            protected = ByteBuffer(bytes: protected.readableBytesView)
            protected.setInteger(first & ~0x20, at: protected.readerIndex)
        }
        return try? RTPHeader(parsing: protected)
    }

    private func receivedRTCP(_ datagram: ByteBuffer) {
        guard let srtp else { return drop(.notConnected) }
        var packet = datagram
        do {
            try srtp.unprotectRTCP(&packet)
        } catch {
            return drop(.decryptFailed)
        }
        guard let packets = try? RTCPPacket.parseCompound(packet) else { return drop(.malformed) }
        count(received: datagram.readableBytes)
        let now = NIODeadline.now()
        rtcp.received(packets, at: now, into: &live)
        if options.answersSenderReports {
            for case .senderReport(let report) in packets { answer(report) }
        }
        onRTCP(packets)
    }

    /// Feeds the per-SSRC loss and jitter counters (RFC 3550 A.3, A.8), at most 8 SSRCs.
    private func noteArrival(_ header: RTPHeader) {
        guard receivers[header.ssrc] != nil || receivers.count < 8 else { return }
        let rate = Int64(clockRates[header.payloadType] ?? 90_000)
        let elapsedMicroseconds = (NIODeadline.now() - arrivalClock).nanoseconds / 1000
        let units = UInt32(truncatingIfNeeded: elapsedMicroseconds &* rate / 1_000_000)
        receivers[header.ssrc, default: ReceiveStatistics()].received(sequence: header.sequenceNumber,
                                                                       rtpTimestamp: header.timestamp, arrivalRTPUnits: units)
    }

    /// A receiver report for `report`'s sender at once (DLSR 0), with what arrived from it.
    private func answer(_ report: RTCPSenderReport) {
        let lastSR = NTPTime.middle32(report.ntpTime)
        let block = receivers[report.ssrc]?.reportBlock(ssrc: report.ssrc, lastSR: lastSR, delaySinceLastSR: 0)
            ?? RTCPReportBlock(ssrc: report.ssrc, fractionLost: 0, cumulativeLost: 0, highestSequence: 0, jitter: 0,
                               lastSR: lastSR, delaySinceLastSR: 0)
        var buffer = allocator.buffer(capacity: 64)
        RTCPPacket.receiverReport(RTCPReceiverReport(ssrc: options.videoSSRC, reports: [block])).write(into: &buffer)
        send(buffer, rtcp: true)
    }

    func send(_ plain: ByteBuffer, rtcp isRTCP: Bool) {
        guard phase == .connected, let srtp else { return drop(.notConnected) }
        if isRTCP { rtcp.sending(plain, at: .now()) }
        let protected = isRTCP ? try? srtp.protectedRTCP(copying: plain, allocator: allocator)
                               : try? srtp.protectedRTP(copying: plain, allocator: allocator)
        guard let packet = protected else { return drop(.malformed) }
        live.packetsSent &+= 1
        live.bytesSent &+= packet.readableBytes
        write(packet)
    }

    /// Ends the client: close_notify when DTLS had started, timers stopped, a pending `connect` failed with `error`.
    func finish(_ error: any Error) {
        guard phase != .closed else { return }
        if phase == .handshaking || phase == .connected, let dtls {
            for datagram in dtls.close() { write(datagram) }
        }
        phase = .closed
        for timer in [dtlsTimer, connectTimer] { timer?.cancel() }
        checkTask?.cancel()
        connectPromise?.fail(error)
        connectPromise = nil
        statisticsChanged()
        onClose("\(error)")
    }

    private func count(received bytes: Int) {
        live.packetsReceived &+= 1
        live.bytesReceived &+= bytes
        statisticsChanged()
    }

    private func drop(_ reason: DropReason) {
        live.drops.count(reason)
        statisticsChanged()
    }

    /// Queues a datagram to the server; one flush per loop tick.
    private func write(_ datagram: ByteBuffer) {
        guard let channel, let remote else { return }
        channel.write(AddressedEnvelope(remoteAddress: remote.address, data: datagram), promise: nil)
        statisticsChanged()
    }

    /// Flushes the socket and publishes the statistics at the end of this tick.
    private func statisticsChanged() {
        guard !tickQueued else { return }
        tickQueued = true
        eventLoop.execute {
            self.tickQueued = false
            self.channel?.flush()
            let snapshot = Snapshot(statistics: self.live, offload: self.liveOffload)
            self.published.withLockedValue { $0 = snapshot }
        }
    }
}
