import CSRT
import NIOConcurrencyHelpers
import NIOCore

/// One accepted caller: owns its SRT socket (closed by `close()`, when the peer goes, when the
/// server shuts down, or in `deinit`).
///
/// A publisher's messages and every connection's end are delivered on the server's SRT thread,
/// in order, and nothing is delivered after the end. `send(_:)`, `close()` and `statistics` may
/// be called from any thread and never block.
public final class SRTConnection: Sendable {
    /// Bytes per SRT message sent: seven 188-byte MPEG-TS packets, SRT's live-mode payload.
    public static let messageSize = 1316
    /// Messages read per wake of the SRT thread before it serves the other connections.
    static let messagesPerWake = 256

    /// The caller's address, `ip:port`.
    public let peer: String
    /// The caller's stream ID, as its admission saw it.
    public let streamID: String
    /// What its admission decided (role, latency, the admission's context).
    public let acceptance: SRTAcceptance
    public var role: SRTRole { acceptance.role }

    let socket: SRTSocket
    private let poller: SRTPoller
    // guards the handlers, the end and the last statistics: shared by the SRT thread and the
    // callers of onReceive/onClose/close/statistics on other threads
    private let state: NIOLockedValueBox<State>

    private struct State {
        var onReceive: (@Sendable (ByteBuffer) -> Void)?
        var onClose: (@Sendable () -> Void)?
        var ended = false
        var endDelivered = false
        var statistics = SRTStatistics()
    }

    init(socket: SRTSocket, peer: String, streamID: String, acceptance: SRTAcceptance, poller: SRTPoller) {
        self.socket = socket
        self.peer = peer
        self.streamID = streamID
        self.acceptance = acceptance
        self.poller = poller
        var initial = State()
        initial.statistics = SRTStatistics.sample(socket, clear: true) ?? SRTStatistics()
        self.state = NIOLockedValueBox(initial)
    }

    deinit { socket.close() }

    /// Starts delivering what a publisher sends: each SRT message's bytes (normally 7×188 bytes of
    /// MPEG-TS), in order, then `onClose` once when the connection ends. Both run on the SRT thread
    /// and must not block. Call it once, from `SRTConnectionHandler.accepted` or later.
    public func onReceive(_ handler: @escaping @Sendable (ByteBuffer) -> Void, onClose: @escaping @Sendable () -> Void) {
        let ended = state.withLockedValue { state in
            state.onReceive = handler
            state.onClose = onClose
            return state.ended
        }
        if ended { poller.deliverEnd(of: self) } else { poller.watch(self, reading: true) }
    }

    /// Calls `handler` once, on the SRT thread, when the connection ends for any reason (the peer
    /// left or broke, `close()`, the server's shutdown). For a player; a publisher's is given with
    /// `onReceive`.
    public func onClose(_ handler: @escaping @Sendable () -> Void) {
        let ended = state.withLockedValue { state in
            state.onClose = handler
            return state.ended
        }
        if ended { poller.deliverEnd(of: self) }
    }

    /// Queues `bytes` for the caller without blocking, as SRT messages of at most `messageSize`
    /// bytes (give whole 188-byte TS packets and each message stays whole packets).
    /// - Returns: false if libsrt's send buffer is full or the connection has ended; the messages
    ///   before the one refused were queued, the rest were not (the caller drops them).
    public func send(_ bytes: ByteBuffer) -> Bool {
        var rest = bytes
        while rest.readableBytes > 0 {
            let length = min(rest.readableBytes, Self.messageSize)
            let sent = rest.withUnsafeReadableBytes { raw in
                srt_sendmsg2(socket.id, raw.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(length), nil)
            }
            guard sent != SRT_ERROR else {
                if srt_getlasterror(nil) != SRT_EASYNCSND.rawValue { end() }
                return false
            }
            rest.moveReaderIndex(forwardBy: length)
        }
        return true
    }

    /// Ends the connection (the peer sees it closed); `onClose` follows on the SRT thread.
    /// Calling it again does nothing.
    public func close() { end() }

    /// The latency the handshake settled on for the media's direction, milliseconds: the receive
    /// latency of a publisher's connection, the peer's of a player's (nil once ended).
    public var latencyMs: Int? {
        socket.int32(role == .publish ? SRTO_RCVLATENCY : SRTO_PEERLATENCY).map(Int.init)
    }

    /// The AES key length the connection's encryption uses, nil when it is not encrypted (or has
    /// ended): the server's `keyLength`, or else the caller's choice.
    public var keyLength: SRTKeyLength? {
        guard acceptance.passphrase != nil, let bytes = socket.int32(SRTO_PBKEYLEN) else { return nil }
        return SRTKeyLength(rawValue: bytes)
    }

    /// Whether the connection has not ended yet.
    public var isOpen: Bool { state.withLockedValue { !$0.ended } }

    /// The latest statistics: sampled by the SRT thread about once a second, and a last time as
    /// the connection ends.
    public var statistics: SRTStatistics { state.withLockedValue { $0.statistics } }

    /// Takes a new sample (on the SRT thread; it restarts libsrt's rate interval).
    func refreshStatistics() {
        // Sampled under the lock, so a sample and the last one of end() never interleave.
        state.withLockedValue { state in
            guard !state.ended, let sample = SRTStatistics.sample(socket, clear: true) else { return }
            state.statistics = sample.adding(to: state.statistics)
        }
    }

    /// Reads what has arrived and hands it on, at most `messagesPerWake` messages. Runs on the SRT
    /// thread; `scratch` is its receive buffer (at least SRT's largest payload, 1456 bytes).
    func readAvailable(scratch: inout [UInt8]) {
        guard let handler = state.withLockedValue({ $0.ended ? nil : $0.onReceive }) else { return }
        for _ in 0..<Self.messagesPerWake {
            let count = scratch.withUnsafeMutableBytes { raw in
                srt_recvmsg(socket.id, raw.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(raw.count))
            }
            guard count > 0, Int(count) <= scratch.count else {
                if count == SRT_ERROR, srt_getlasterror(nil) == SRT_EASYNCRCV.rawValue { return }
                return end()
            }
            var buffer = ByteBufferAllocator().buffer(capacity: Int(count))
            buffer.writeBytes(scratch[0..<Int(count)])
            handler(buffer)
        }
    }

    /// Ends the connection once: a last statistics sample, the socket closed, the poller told.
    func end() {
        let first = state.withLockedValue { state in
            guard !state.ended else { return false }
            state.ended = true
            if let last = SRTStatistics.sample(socket, clear: false) { state.statistics = last.adding(to: state.statistics) }
            return true
        }
        guard first else { return }
        poller.forget(self)
        socket.close()
        poller.deliverEnd(of: self)
    }

    /// Calls `onClose` if the connection has ended and it was not called yet; then lets go of
    /// both handlers (they may hold the connection). On the SRT thread, or the caller's once the
    /// thread has stopped.
    func runEndHandler() {
        let handler: (@Sendable () -> Void)? = state.withLockedValue { state in
            guard state.ended, !state.endDelivered, let onClose = state.onClose else { return nil }
            state.endDelivered = true
            state.onClose = nil
            state.onReceive = nil
            return onClose
        }
        handler?()
    }
}
