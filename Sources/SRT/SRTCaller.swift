import CSRT
import NIOCore

/// An SRT caller (client) in live mode whose calls block, with timeouts: for tests, tools and
/// dedicated threads, never an event loop or the cooperative pool.
public final class SRTCaller: Sendable {
    private let socket: SRTSocket

    /// Connects to `host:port` and completes the handshake.
    /// - Parameters:
    ///   - host: a numeric IPv4 or IPv6 address.
    ///   - streamID: sent as `SRTO_STREAMID` (at most 512 bytes).
    ///   - passphrase: encrypts the stream (10...79 bytes), nil for none.
    ///   - keyLength: the AES key length asked for with a passphrase; nil leaves libsrt's default.
    ///   - timeout: how long the handshake may take.
    /// - Throws: `SRTError` `.rejected` with the listener's `rejectReason` (e.g. 1401, or libsrt's
    ///   10 for a wrong passphrase), `.connect` when nothing answered in time.
    public init(host: String, port: Int, streamID: String, passphrase: String? = nil, keyLength: SRTKeyLength? = nil,
                latencyMs: Int = 120, timeout: TimeAmount = .seconds(3)) throws {
        guard streamID.utf8.count <= 512 else { throw SRTError(.invalidArgument, "an SRT stream ID has at most 512 bytes") }
        let socket = try SRTSocket()
        self.socket = socket
        try socket.configureLive(blocking: true)
        try socket.options.set(SRTO_STREAMID, streamID, "SRTO_STREAMID")
        try socket.options.set(SRTO_LATENCY, Int32(clamping: latencyMs), "SRTO_LATENCY")
        try socket.options.set(SRTO_CONNTIMEO, Self.milliseconds(timeout), "SRTO_CONNTIMEO")
        if let passphrase {
            try socket.options.set(SRTO_PASSPHRASE, passphrase, "SRTO_PASSPHRASE")
        }
        if let keyLength {
            try socket.options.set(SRTO_PBKEYLEN, keyLength.rawValue, "SRTO_PBKEYLEN")
        }
        try SRTSocketAddress.withSockaddr(host: host, port: port) { address, length in
            guard srt_connect(socket.id, address, length) != SRT_ERROR else {
                let reason = srt_getrejectreason(socket.id)
                let refused = srt_getlasterror(nil) == SRT_ECONNREJ.rawValue
                throw SRTError.last(refused ? .rejected : .connect, "connect \(host):\(port)", rejectReason: refused ? reason : nil)
            }
        }
    }

    deinit { socket.close() }

    /// Sends `bytes` as SRT messages of at most `SRTConnection.messageSize` bytes, waiting up to
    /// `timeout` for room in the send buffer for each.
    /// - Throws: `SRTError` `.send` when the connection is gone or the wait timed out.
    public func send(_ bytes: ByteBuffer, timeout: TimeAmount = .seconds(1)) throws {
        try socket.options.set(SRTO_SNDTIMEO, Self.milliseconds(timeout), "SRTO_SNDTIMEO")
        var rest = bytes
        while rest.readableBytes > 0 {
            let length = min(rest.readableBytes, SRTConnection.messageSize)
            let sent = rest.withUnsafeReadableBytes { raw in
                srt_sendmsg2(socket.id, raw.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(length), nil)
            }
            guard sent != SRT_ERROR else { throw SRTError.last(.send, "srt_sendmsg2") }
            rest.moveReaderIndex(forwardBy: length)
        }
    }

    /// The next message, waiting at most `timeout`; nil if none came in time.
    /// - Throws: `SRTError` `.receive` once the connection is gone.
    public func receive(timeout: TimeAmount = .seconds(1)) throws -> ByteBuffer? {
        try socket.options.set(SRTO_RCVTIMEO, Self.milliseconds(timeout), "SRTO_RCVTIMEO")
        var scratch = [UInt8](repeating: 0, count: 1500)
        let count = scratch.withUnsafeMutableBytes { raw in
            srt_recvmsg(socket.id, raw.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(raw.count))
        }
        guard count != SRT_ERROR else {
            // A blocking receive's timeout is SRT_ETIMEOUT (SRT_EASYNCRCV in non-blocking mode).
            let code = srt_getlasterror(nil)
            if code == SRT_ETIMEOUT.rawValue || code == SRT_EASYNCRCV.rawValue { return nil }
            throw SRTError.last(.receive, "srt_recvmsg")
        }
        guard count > 0, Int(count) <= scratch.count else { throw SRTError(.receive, "connection closed") }
        var buffer = ByteBufferAllocator().buffer(capacity: Int(count))
        buffer.writeBytes(scratch[0..<Int(count)])
        return buffer
    }

    /// The connection's statistics now (zeros once it is closed).
    public var statistics: SRTStatistics { SRTStatistics.sample(socket, clear: false) ?? SRTStatistics() }

    /// The AES key length the connection settled on (`SRTO_PBKEYLEN`), nil when unencrypted.
    public var keyLength: SRTKeyLength? { socket.int32(SRTO_PBKEYLEN).flatMap(SRTKeyLength.init(rawValue:)) }

    /// Whether libsrt still sees the connection as connected.
    public var isConnected: Bool { srt_getsockstate(socket.id) == SRTS_CONNECTED }

    /// Closes the connection (the listener sees it end); later calls do nothing.
    public func close() { socket.close() }

    private static func milliseconds(_ amount: TimeAmount) -> Int32 {
        Int32(clamping: max(1, amount.nanoseconds / 1_000_000))
    }
}
