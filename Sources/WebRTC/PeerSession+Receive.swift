import NIOCore
import RTC

/// What arrives for a session, and its timers: connect timeout, consent (RFC 7675 §5.1) and
/// DTLS retransmission (RFC 6347 §4.2.4). All on `eventLoop`.
extension PeerSession {
    /// Arms the connect timeout; the server calls it once the session is registered.
    func start() {
        let timeout = TimeAmount(configuration.connectTimeout)
        eventLoop.execute {
            guard !self.closed else { return }
            self.connectTimer = self.eventLoop.scheduleTask(in: timeout) {
                if self.srtp == nil { self.close(reason: "connect timeout") }
            }
        }
    }

    func receivedSTUN(_ message: STUNMessage, raw: ByteBuffer, from source: SocketAddress) {
        guard !closed else { return drop(.notConnected) }
        let previous = ice.selected
        let now = NIODeadline.now()
        // A check "from" where another live session's media goes is forged (its peer answers
        // there): taking the address would send that session's DTLS and SRTP here, and drop it.
        if previous != source, router.isHeld(source, byAnotherThan: self, now: now) { return drop(.unknownSource) }
        switch ice.received(message, raw: raw, from: source, now: now) {
        case .refused(let response, let reason):
            drop(reason)
            if let response { _ = router.write(response, to: source) }
        case .answered(let response, let selected):
            _ = router.write(response, to: source)
            if let selected { moved(to: selected, from: previous) }
        case .probing(let response, let probe, let transactionID):
            _ = router.write(response, to: source)
            router.expectProbeAnswer(transactionID, for: self, replacing: probing)
            probing = transactionID
            _ = router.write(probe, to: source)
        }
    }

    /// The answer to this session's probe of a nominated address: media moves there when it is
    /// the one awaited.
    func receivedProbeAnswer(_ message: STUNMessage, raw: ByteBuffer, from source: SocketAddress) {
        guard !closed else { return }
        let previous = ice.selected
        guard let selected = ice.receivedProbeAnswer(message, raw: raw, from: source, now: .now()) else { return drop(.badIntegrity) }
        router.expectProbeAnswer(nil, for: self, replacing: probing)
        probing = nil
        moved(to: selected, from: previous)
    }

    private func moved(to selected: SocketAddress, from previous: SocketAddress?) {
        router.bind(self, to: selected, previous: previous)
        statisticsChanged()
        if previous == nil { armConsentTimer() }
    }

    func receivedDTLS(_ datagram: ByteBuffer) {
        guard !closed, let address = ice.selected else { return drop(.notConnected) }
        for reply in dtls.received(datagram) { _ = router.write(reply, to: address) }
        dtlsProgressed()
    }

    func receivedRTP(_ datagram: ByteBuffer) {
        guard !closed, let srtp else { return drop(.notConnected) }
        // A WHEP viewer only receives: its RTP is never decrypted (each new SSRC would cost a libsrtp stream).
        guard role == .whip else { return drop(.unexpectedMedia) }
        // The datagram is a slot of a receive buffer shared by a whole recvmmsg; a packet a
        // jitter buffer keeps must not pin all of it.
        var packet = router.allocator.buffer(capacity: datagram.readableBytes)
        packet.writeImmutableBuffer(datagram)
        let wireBytes = packet.readableBytes
        do {
            try srtp.unprotectRTP(&packet)
        } catch {
            return drop(.decryptFailed)
        }
        guard let parsed = try? RTPPacket(parsing: packet) else { return drop(.malformed) }
        received(wireBytes: wireBytes)
        live.rtpPacketsReceived &+= 1
        liveDelegate?.peer(self, receivedRTP: parsed)
    }

    func receivedRTCP(_ datagram: ByteBuffer) {
        guard !closed, let srtp else { return drop(.notConnected) }
        var packet = datagram
        let wireBytes = packet.readableBytes
        do {
            try srtp.unprotectRTCP(&packet)
        } catch {
            return drop(.decryptFailed)
        }
        guard let packets = try? RTCPPacket.parseCompound(packet) else { return drop(.malformed) }
        received(wireBytes: wireBytes)
        rtcp.received(packets, at: .now(), into: &live)
        liveDelegate?.peer(self, receivedRTCP: packets)
    }

    private func received(wireBytes: Int) {
        live.packetsReceived &+= 1
        live.bytesReceived &+= wireBytes
        statisticsChanged()
    }

    /// After DTLS took a datagram or a timeout: key SRTP once connected, close on failure,
    /// re-arm the retransmission timer while handshaking.
    private func dtlsProgressed() {
        dtlsTimer?.cancel()
        dtlsTimer = nil
        switch dtls.state {
        case .handshaking:
            guard let timeout = dtls.timeout else { return }
            dtlsTimer = eventLoop.scheduleTask(in: TimeAmount(timeout)) { self.dtlsTimedOut() }
        case .connected(let keys):
            guard srtp == nil else { return }
            do {
                srtp = try SRTPContext(keys: keys)
            } catch {
                return close(reason: "SRTP failure: \(error)")
            }
            connectTimer?.cancel()
            live.connectedAt = .now()
            publish()
            liveDelegate?.peerConnected(self)
        case .failed(let reason):
            close(reason: "DTLS failure: \(reason)")
        case .closed:
            close(reason: "DTLS closed")
        }
    }

    private func dtlsTimedOut() {
        guard !closed, let address = ice.selected else { return }
        for datagram in dtls.handleTimeout() { _ = router.write(datagram, to: address) }
        dtlsProgressed()
    }

    /// Checks consent when it would run out, and again until it does.
    private func armConsentTimer() {
        let timeout = configuration.consentTimeout
        let due = (ice.lastConsent ?? .now()) + TimeAmount(timeout)
        consentTimer = eventLoop.scheduleTask(deadline: due) {
            guard !self.closed else { return }
            if let last = self.ice.lastConsent, NIODeadline.now() - last < TimeAmount(timeout) {
                self.armConsentTimer()
            } else {
                self.close(reason: "consent lost")
            }
        }
    }
}
