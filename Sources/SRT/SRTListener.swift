import CSRT
import Dispatch
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The listening socket of one server and its handshake decisions: libsrt's listen callback asks
/// the admission (waiting a bounded time on libsrt's receive thread) and configures the new
/// socket from the answer; the SRT thread later accepts it and pairs it with that answer.
final class SRTListener: Sendable {
    /// How long an accepted handshake waits for `srt_accept` before its answer is dropped.
    static let pendingLifetime: TimeAmount = .seconds(10)

    let socket: SRTSocket
    private let configuration: SRTServerConfiguration
    private let admission: any SRTAdmission
    private let handler: any SRTConnectionHandler
    private let logger: Logger
    private let poller: SRTPoller
    // guards the accepted handshakes waiting for srt_accept, keyed by their new socket: written
    // on libsrt's receive thread (the listen callback), taken on the SRT thread
    private let pending = NIOLockedValueBox([SRTSOCKET: Pending]())

    private struct Pending {
        let acceptance: SRTAcceptance
        let request: SRTConnectRequest
        let deadline: NIODeadline
    }

    init(socket: SRTSocket, configuration: SRTServerConfiguration, admission: any SRTAdmission,
         handler: any SRTConnectionHandler, poller: SRTPoller, logger: Logger) {
        self.socket = socket
        self.configuration = configuration
        self.admission = admission
        self.handler = handler
        self.poller = poller
        self.logger = logger
    }

    func close() { socket.close() }

    /// Answers one caller's handshake (libsrt's listen callback, on its receive thread): 0 to
    /// accept with the new socket `newSocket` configured, -1 with a reject reason set to refuse.
    func decide(newSocket: SRTSOCKET, peer: UnsafePointer<sockaddr>?, streamID: UnsafePointer<CChar>?) -> Int32 {
        guard let address = peer.flatMap(SRTSocketAddress.init) else { return refuse(newSocket, .badRequest, "no peer address") }
        // libsrt hands at most 512 bytes; anything but UTF-8 is refused before the admission sees it.
        guard let streamText = streamID.map(String.init(validatingCString:)) ?? "" else {
            return refuse(newSocket, .badRequest, "a stream ID that is not UTF-8")
        }
        let request = SRTConnectRequest(streamID: streamText, peer: address.description, peerIP: address.ip)
        guard poller.connectionCount + pendingCount < configuration.maxConnections else {
            return refuse(newSocket, .unavailable, "\(configuration.maxConnections) connections already", request)
        }
        guard let decision = ask(request) else {
            return refuse(newSocket, .unavailable, "no admission answer within \(configuration.decisionTimeout)", request)
        }
        switch decision {
        case .reject(let reason):
            return refuse(newSocket, reason, "refused by admission", request)
        case .accept(let acceptance):
            do {
                try configure(newSocket, for: acceptance)
            } catch {
                return refuse(newSocket, .unavailable, "\(error)", request)
            }
            remember(newSocket, Pending(acceptance: acceptance, request: request, deadline: .now() + Self.pendingLifetime))
            return 0
        }
    }

    /// The admission's answer, or nil if it took longer than `decisionTimeout`.
    private func ask(_ request: SRTConnectRequest) -> SRTConnectDecision? {
        // the answer handed from the admission's task to this waiting receive thread
        let answer = NIOLockedValueBox<SRTConnectDecision?>(nil)
        // signalled by the admission's task once the answer is in `answer`
        let answered = DispatchSemaphore(value: 0)
        let admission = self.admission
        Task {
            let decision = await admission.decide(request)
            answer.withLockedValue { $0 = decision }
            answered.signal()
        }
        let nanoseconds = UInt64(max(0, configuration.decisionTimeout.nanoseconds))
        guard answered.wait(timeout: .now() + .nanoseconds(Int(clamping: nanoseconds))) == .success else { return nil }
        return answer.withLockedValue { $0 }
    }

    /// The new socket's passphrase and latencies, before libsrt answers the caller. (Not its key
    /// length: libsrt 1.5 ignores one set here and keeps the listener's, or else the caller's.)
    private func configure(_ newSocket: SRTSOCKET, for acceptance: SRTAcceptance) throws {
        let accepted = SRTSocketOptions(id: newSocket)
        if let passphrase = acceptance.passphrase {
            try accepted.set(SRTO_PASSPHRASE, passphrase, "SRTO_PASSPHRASE")
        }
        let latency = Int32(clamping: acceptance.latencyMs)
        try accepted.set(SRTO_RCVLATENCY, latency, "SRTO_RCVLATENCY")
        try accepted.set(SRTO_PEERLATENCY, latency, "SRTO_PEERLATENCY")
    }

    private func refuse(_ newSocket: SRTSOCKET, _ reason: SRTRejectReason, _ why: String,
                        _ request: SRTConnectRequest? = nil) -> Int32 {
        _ = srt_setrejectreason(newSocket, reason.code)
        // debug: the admission (Ingest) logs its own refusals, and a caller can repeat handshakes at will
        logger.debug("SRT: handshake refused", metadata: [
            "reason": "\(reason.code)", "why": "\(why)", "peer": "\(request?.peer ?? "?")",
        ])
        return -1
    }

    private var pendingCount: Int { pending.withLockedValue { $0.count } }

    private func remember(_ newSocket: SRTSOCKET, _ entry: Pending) {
        pending.withLockedValue { pending in
            let now = NIODeadline.now()
            pending = pending.filter { $0.value.deadline > now }
            pending[newSocket] = entry
        }
    }

    /// Accepts one connection that finished its handshake (on the SRT thread) and hands it to the
    /// handler with its admission's answer. One per readiness event: the epoll is level-triggered,
    /// so it reports the listener again while more wait, and libsrt logs an error for each
    /// `srt_accept` that finds none.
    func acceptPending(into poller: SRTPoller) {
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        let id = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { srt_accept(socket.id, $0, &length) }
        }
        guard id != SRT_INVALID_SOCK else { return }
        let accepted = SRTSocket(accepted: id)
        guard let entry = pending.withLockedValue({ $0[id] }) else {
            logger.warning("SRT: a connection without an admission answer; closed")
            return accepted.close()
        }
        adopt(accepted, entry, into: poller)
        // Only now: until the poller holds the connection, the entry counts it against maxConnections.
        pending.withLockedValue { _ = $0.removeValue(forKey: id) }
    }

    private func adopt(_ accepted: SRTSocket, _ entry: Pending, into poller: SRTPoller) {
        do {
            try accepted.options.set(SRTO_RCVSYN, false, "SRTO_RCVSYN")
            try accepted.options.set(SRTO_SNDSYN, false, "SRTO_SNDSYN")
        } catch {
            // The caller left between its handshake and our accept.
            logger.debug("SRT: could not configure an accepted connection: \(error)")
            return accepted.close()
        }
        let peer = (try? accepted.peerAddress().description) ?? entry.request.peer
        let connection = SRTConnection(socket: accepted, peer: peer, streamID: entry.request.streamID,
                                       acceptance: entry.acceptance, poller: poller)
        guard poller.adopt(connection) else { return accepted.close() }
        logger.debug("SRT: connection accepted", metadata: ["peer": "\(peer)", "role": "\(entry.acceptance.role)"])
        handler.accepted(connection, acceptance: entry.acceptance)
    }
}
