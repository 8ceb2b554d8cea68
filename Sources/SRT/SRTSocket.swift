import CSRT
import NIOConcurrencyHelpers

/// Owns one libsrt socket: made in `init`, closed once by `close()` or `deinit`.
///
/// libsrt socket calls are thread-safe (each looks the socket up under libsrt's own lock, and a
/// call on a closed socket fails with `SRT_EINVSOCK`), so any thread may use it.
final class SRTSocket: Sendable {
    /// libsrt's socket ID (never reused while the process runs).
    let id: SRTSOCKET
    // guards the one srt_close: close() may race deinit-free callers on other threads
    private let closed = NIOLockedValueBox(false)

    /// A new socket, libsrt started first.
    /// - Throws: `SRTError` `.startup` or `.socket`.
    init() throws {
        try SRTLibrary.start()
        let id = srt_create_socket()
        guard id != SRT_INVALID_SOCK else { throw SRTError.last(.socket, "srt_create_socket") }
        self.id = id
    }

    /// Takes over a socket libsrt made (`srt_accept`'s answer).
    init(accepted id: SRTSOCKET) {
        self.id = id
    }

    deinit { close() }

    /// Closes the socket; later calls do nothing.
    func close() {
        let first = closed.withLockedValue { wasClosed in
            defer { wasClosed = true }
            return !wasClosed
        }
        if first { srt_close(id) }
    }

    var isClosed: Bool { closed.withLockedValue { $0 } }

    /// The socket's options.
    var options: SRTSocketOptions { SRTSocketOptions(id: id) }

    /// Sets the options every socket of this target has: live mode, and blocking or not.
    func configureLive(blocking: Bool) throws {
        try options.set(SRTO_TRANSTYPE, Int32(SRTT_LIVE.rawValue), "SRTO_TRANSTYPE")
        try options.set(SRTO_RCVSYN, blocking, "SRTO_RCVSYN")
        try options.set(SRTO_SNDSYN, blocking, "SRTO_SNDSYN")
    }

    /// An `int` option's value (`SRTO_RCVLATENCY`, `SRTO_PEERLATENCY`, …), nil if libsrt refuses.
    func int32(_ option: SRT_SOCKOPT) -> Int32? {
        var value: Int32 = 0
        var length = Int32(MemoryLayout<Int32>.size)
        guard srt_getsockflag(id, option, &value, &length) == 0 else { return nil }
        return value
    }

    /// The address the socket is bound to (`srt_getsockname`).
    func localAddress() throws -> SRTSocketAddress {
        try SRTSocketAddress.read(context: "srt_getsockname") { srt_getsockname(id, $0, $1) }
    }

    /// The connected peer's address (`srt_getpeername`).
    func peerAddress() throws -> SRTSocketAddress {
        try SRTSocketAddress.read(context: "srt_getpeername") { srt_getpeername(id, $0, $1) }
    }
}
