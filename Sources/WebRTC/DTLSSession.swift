import CDTLS
import NIOCore
import SDP

/// One DTLS-SRTP association (RFC 5764, RFC 6347 DTLS 1.2) over OpenSSL with memory BIOs: the
/// caller hands in each received datagram and sends the datagrams it gets back; no I/O here.
///
/// What goes out is OpenSSL's records packed whole into datagrams of at most `mtu` bytes. Once the
/// handshake is done the peer's certificate is compared with the SDP fingerprint and the SRTP keys
/// are exported (`DTLSState.connected`). Application data after the handshake (data channels) is
/// read and dropped: Sluice does not support them.
///
/// Not Sendable: confined to one event loop.
public final class DTLSSession {
    public let role: DTLSRole
    /// The largest datagram sent, in bytes (UDP payload).
    public let mtu: Int
    /// Where the session stands; `.connected` carries the SRTP keys.
    public private(set) var state: DTLSState = .handshaking

    private let ssl: OpaquePointer        // SSL *, owns both BIOs
    private let readBIO: OpaquePointer    // BIO *: received datagrams go in here
    private let writeBIO: OpaquePointer   // BIO *: OpenSSL's records come out of here
    private let certificate: RTCCertificate
    private let remoteFingerprint: SDPFingerprint?
    private let allocator = ByteBufferAllocator()
    private var started = false
    /// The record version the handshake settled on (0xFEFD for DTLS 1.2); nil until connected.
    private var recordVersion: UInt16?

    /// The MTUs accepted: OpenSSL's DTLS minimum to the largest UDP payload.
    public static let mtuRange = 256...65_507
    /// The largest datagram taken in, in bytes.
    public static let maximumDatagramLength = 65_535

    /// - Parameters:
    ///   - remoteFingerprint: the peer's `a=fingerprint` (RFC 8122); nil accepts any certificate
    ///     (tests, fuzzing).
    ///   - mtu: the largest datagram to send, in bytes; 1200 keeps under every path's MTU with
    ///     room for TURN and IPv6 headers.
    ///   - initialRetransmitTimeout: the first flight's retransmission timer, doubled on each
    ///     retransmission up to 60 s (RFC 6347 §4.2.4.1 recommends 1 s).
    public init(role: DTLSRole, certificate: RTCCertificate, remoteFingerprint: SDPFingerprint?, mtu: Int = 1200,
                initialRetransmitTimeout: Duration = .seconds(1)) throws(WebRTCError) {
        guard Self.mtuRange.contains(mtu) else { throw WebRTCError("DTLS MTU \(mtu) outside \(Self.mtuRange)") }
        if let remoteFingerprint, RTCCertificate.digestMethod(named: remoteFingerprint.algorithm) == nil {
            throw WebRTCError("unsupported fingerprint algorithm \(remoteFingerprint.algorithm)")
        }
        OpenSSLError.clear()
        guard let ssl = SSL_new(certificate.context.handle) else { throw OpenSSLError.error("SSL_new failed") }
        guard let readBIO = BIO_new(BIO_s_mem()), let writeBIO = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw OpenSSLError.error("BIO_new failed")
        }
        sluice_bio_set_mem_eof_return(readBIO, -1)
        sluice_bio_set_mem_eof_return(writeBIO, -1)
        SSL_set_bio(ssl, readBIO, writeBIO)
        self.ssl = ssl
        self.readBIO = readBIO
        self.writeBIO = writeBIO
        self.role = role
        self.mtu = mtu
        self.certificate = certificate
        self.remoteFingerprint = remoteFingerprint
        sluice_dtls_set_mtu(ssl, mtu)
        Self.installTimer(on: ssl, initial: initialRetransmitTimeout)
        switch role {
        case .server: SSL_set_accept_state(ssl)
        case .client: SSL_set_connect_state(ssl)
        }
    }

    deinit {
        SSL_free(ssl)
    }

    /// Starts the handshake: a client's ClientHello datagrams; a server waits (`[]`). Once only.
    public func start() -> [ByteBuffer] {
        guard !started, !state.isFinished else { return [] }
        started = true
        if role == .client { advance() }
        return flush()
    }

    /// Takes in one received datagram; returns the datagrams to send back (records packed ≤ `mtu`).
    /// After the end (failed, closed) datagrams are ignored.
    public func received(_ datagram: ByteBuffer) -> [ByteBuffer] {
        guard !state.isFinished, datagram.readableBytes > 0,
              datagram.readableBytes <= Self.maximumDatagramLength else { return [] }
        started = true
        let datagram = DTLSRecord.admissible(datagram, minimumProtectedFragment: DTLSContext.minimumProtectedFragment,
                                             version: recordVersion)
        guard datagram.readableBytes > 0 else { return [] }
        OpenSSLError.clear()
        let count = Int32(datagram.readableBytes)
        let written = datagram.withUnsafeReadableBytes { BIO_write(readBIO, $0.baseAddress, count) }
        guard written == count else {
            state = .failed(OpenSSLError.error("BIO_write failed").message)
            return []
        }
        advance()
        // A session that failed or closed keeps nothing queued for next time.
        if state.isFinished { _ = BIO_ctrl(readBIO, BIO_CTRL_RESET, 0, nil) }
        return flush()
    }

    /// Time left until the retransmission timer fires (DTLSv1_get_timeout); nil when none runs.
    public var timeout: Duration? {
        guard !state.isFinished else { return nil }
        var seconds = 0, microseconds = 0
        guard sluice_dtls_get_timeout(ssl, &seconds, &microseconds) == 1 else { return nil }
        return .seconds(seconds) + .microseconds(microseconds)
    }

    /// Retransmits the last flight when the timer has fired (DTLSv1_handle_timeout); `[]` when it
    /// had not. Too many retransmissions (12) fail the session.
    public func handleTimeout() -> [ByteBuffer] {
        guard !state.isFinished else { return [] }
        OpenSSLError.clear()
        if sluice_dtls_handle_timeout(ssl) < 0 {
            state = .failed(OpenSSLError.error("DTLS handshake timed out").message)
        }
        return flush()
    }

    /// Ends the association: a close_notify alert when the handshake was done, then `.closed`.
    public func close() -> [ByteBuffer] {
        guard !state.isFinished else { return [] }
        OpenSSLError.clear()
        if SSL_is_init_finished(ssl) == 1 { _ = SSL_shutdown(ssl) }
        state = .closed
        OpenSSLError.clear()
        return flush()
    }

    // MARK: - Driving OpenSSL

    private func advance() {
        if state == .handshaking { handshake() }
        if case .connected = state { readApplicationData() }
    }

    private func handshake() {
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            state = DTLSHandshakeCheck(ssl: ssl, role: role, remoteFingerprint: remoteFingerprint).outcome()
            recordVersion = UInt16(exactly: SSL_version(ssl))
            if state.isFinished { _ = SSL_shutdown(ssl) }   // tell the peer (close_notify)
        } else {
            settle(after: result)
        }
    }

    /// Reads and drops application data (data channels are not supported); sees close_notify
    /// and alerts. Bounded: 64 reads of at most 4 KiB take in any datagram.
    private func readApplicationData() {
        withUnsafeTemporaryAllocation(byteCount: 4096, alignment: 1) { scratch in
            for _ in 0..<64 {
                let result = SSL_read(ssl, scratch.baseAddress, Int32(scratch.count))
                if result > 0 { continue }
                settle(after: result)
                return
            }
        }
    }

    /// The state after an SSL call that did not succeed.
    private func settle(after result: Int32) {
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            OpenSSLError.clear()
        case SSL_ERROR_ZERO_RETURN:
            state = .closed
        case SSL_ERROR_SYSCALL where ERR_peek_error() == 0:
            state = .failed("DTLS failed without a reason from OpenSSL (SSL_ERROR_SYSCALL)")
        case let code:
            let reasons = OpenSSLError.drainText()
            state = .failed(reasons.isEmpty ? "DTLS error \(code)" : reasons)
        }
    }

    /// Everything OpenSSL wrote, as datagrams of whole records of at most `mtu` bytes.
    private func flush() -> [ByteBuffer] {
        guard BIO_ctrl_pending(writeBIO) > 0 else { return [] }
        var written = allocator.buffer(capacity: BIO_ctrl_pending(writeBIO))
        MemoryBIO.drain(writeBIO, into: &written)
        guard let records = try? DTLSRecord.split(written) else { return [written] }
        return DTLSRecord.pack(records, mtu: mtu)
    }

    /// The retransmission timer: `initial` first, then doubling up to 60 s. The initial value
    /// rides in the SSL's application data slot, as a number, so the C callback needs no context.
    private static func installTimer(on ssl: OpaquePointer, initial: Duration) {
        let seconds = min(max(initial.components.seconds, 0), 60)
        let microseconds = seconds * 1_000_000 + initial.components.attoseconds / 1_000_000_000_000
        let clamped = UInt(clamping: min(max(microseconds, 1_000), 60_000_000))
        _ = SSL_set_ex_data(ssl, 0, UnsafeMutableRawPointer(bitPattern: clamped))
        DTLS_set_timer_cb(ssl) { ssl, previous in
            guard previous == 0 else { return min(previous &* 2, 60_000_000) }
            let initial = ssl.flatMap { UInt(bitPattern: SSL_get_ex_data($0, 0)) } ?? 1_000_000
            return UInt32(clamping: initial)
        }
    }
}
