import CSRT
import Foundation
import Logging
import NIOConcurrencyHelpers

/// The SRT thread of one server: a dedicated OS thread waiting in libsrt's epoll
/// (`srt_epoll_uwait`, 100 ms at a time) for the listener's new connections, publishers' data and
/// broken connections, and delivering them. Never an event loop, never the cooperative pool.
///
/// `stop()` sets a flag the thread reads after each wait; the thread then closes the listener and
/// every connection, calls their `onClose`, releases the epoll set and signals `join()`.
final class SRTPoller: Sendable {
    /// How long one wait lasts, so a stop is seen within this time.
    static let waitMilliseconds: Int64 = 100
    /// How often the thread samples every connection's statistics.
    static let statisticsInterval: TimeInterval = 1

    private let epoll: Int32
    private let logger: Logger
    // guards the connections by socket, the ends waiting for their onClose and the stop flag:
    // shared by the SRT thread and any thread that closes a connection or stops the server
    private let registry = NIOLockedValueBox(Registry())
    // the thread's end, which join() waits for
    private let finished = ConditionLock(value: false)
    // set by stop(): what the thread waits on instead of libsrt's epoll when that fails
    private let stopped = ConditionLock(value: false)

    private struct Registry {
        var connections: [SRTSOCKET: SRTConnection] = [:]
        var ended: [SRTConnection] = []
        var phase = Phase.idle
        /// The SRT thread's ID, set as it starts.
        var thread: pthread_t?
    }

    private enum Phase { case idle, running, stopping, stopped }

    /// - Throws: `SRTError` `.poll` if libsrt cannot make an epoll set.
    init(logger: Logger) throws {
        try SRTLibrary.start()
        let epoll = srt_epoll_create()
        guard epoll >= 0 else { throw SRTError.last(.poll, "srt_epoll_create") }
        // An empty set waits out its timeout instead of failing (after shutdown's last close).
        _ = srt_epoll_set(epoll, Int32(SRT_EPOLL_ENABLE_EMPTY.rawValue))
        self.epoll = epoll
        self.logger = logger
    }

    /// Starts the thread, serving `listener`.
    func start(listener: SRTListener) throws {
        var events = Int32(SRT_EPOLL_IN.rawValue | SRT_EPOLL_ERR.rawValue)
        guard srt_epoll_add_usock(epoll, listener.socket.id, &events) == 0 else {
            throw SRTError.last(.poll, "srt_epoll_add_usock (listener)")
        }
        registry.withLockedValue { $0.phase = .running }
        let thread = Thread { [self] in
            Self.nameCurrentThread("srt-poller")
            registry.withLockedValue { $0.thread = pthread_self() }
            run(listener: listener)
        }
        thread.start()
    }

    /// Names the OS thread from inside it (`top -H`, `/proc`): Foundation does not reliably pass a
    /// name set before `start` on, and glibc's `pthread_setname_np` does not import.
    private static func nameCurrentThread(_ name: String) {
        #if os(Linux)
        guard let file = fopen("/proc/thread-self/comm", "w") else { return }
        fputs(name, file)
        fclose(file)
        #endif
    }

    /// Asks the thread to end; it does within `waitMilliseconds` plus the `onClose` calls.
    func stop() {
        let neverStarted = registry.withLockedValue { registry in
            switch registry.phase {
            case .idle:
                registry.phase = .stopped
                return true
            case .running:
                registry.phase = .stopping
            case .stopping, .stopped:
                break
            }
            return false
        }
        // A started thread releases the set as it ends.
        if neverStarted { srt_epoll_release(epoll) }
        stopped.lock()
        stopped.unlock(withValue: true)
    }

    /// Waits for the thread to end, if it was started. From the SRT thread itself (a handler that
    /// shuts the server down) it returns at once: the thread ends after that handler.
    func join(started: Bool) {
        guard started, !isPollerThread else { return }
        finished.lock(whenValue: true)
        finished.unlock()
    }

    /// Whether the caller is running on the SRT thread.
    var isPollerThread: Bool {
        guard let thread = registry.withLockedValue({ $0.thread }) else { return false }
        return pthread_equal(thread, pthread_self()) != 0
    }

    var connectionCount: Int { registry.withLockedValue { $0.connections.count } }
    var connections: [SRTConnection] { registry.withLockedValue { Array($0.connections.values) } }

    /// Takes a new connection in, watching it for errors (and data, once it has a receiver).
    /// - Returns: false if the thread is stopping (the caller closes the connection).
    func adopt(_ connection: SRTConnection) -> Bool {
        let running = registry.withLockedValue { registry in
            guard registry.phase == .running else { return false }
            registry.connections[connection.socket.id] = connection
            return true
        }
        if running { watch(connection, reading: false) }
        return running
    }

    /// Watches `connection` for errors, and for data when `reading`.
    func watch(_ connection: SRTConnection, reading: Bool) {
        var events = Int32(SRT_EPOLL_ERR.rawValue) | (reading ? Int32(SRT_EPOLL_IN.rawValue) : 0)
        if srt_epoll_update_usock(epoll, connection.socket.id, &events) != 0 {
            logger.debug("SRT: could not watch a connection", metadata: ["peer": "\(connection.peer)"])
            connection.end()
        }
    }

    /// Drops an ended connection from the registry and the epoll set.
    func forget(_ connection: SRTConnection) {
        registry.withLockedValue { _ = $0.connections.removeValue(forKey: connection.socket.id) }
        _ = srt_epoll_remove_usock(epoll, connection.socket.id)
    }

    /// Has `connection`'s `onClose` called: on the SRT thread, or at once once it has stopped.
    func deliverEnd(of connection: SRTConnection) {
        let queued = registry.withLockedValue { registry in
            guard registry.phase == .running || registry.phase == .stopping else { return false }
            registry.ended.append(connection)
            return true
        }
        if !queued || isPollerThread { connection.runEndHandler() }
    }

    private var isStopping: Bool { registry.withLockedValue { $0.phase != .running } }

    /// The thread's body.
    private func run(listener: SRTListener) {
        var events = [SRT_EPOLL_EVENT](repeating: SRT_EPOLL_EVENT(), count: 64)
        var scratch = [UInt8](repeating: 0, count: 1500)
        var nextSample = Date().addingTimeInterval(Self.statisticsInterval)
        while !isStopping {
            let count = srt_epoll_uwait(epoll, &events, Int32(events.count), Self.waitMilliseconds)
            if count < 0 { waitAfterFailure() }
            for event in events.prefix(Int(max(0, min(count, Int32(events.count))))) {
                handle(event, listener: listener, scratch: &scratch)
            }
            deliverEnds()
            if Date() >= nextSample {
                nextSample = Date().addingTimeInterval(Self.statisticsInterval)
                for connection in connections { connection.refreshStatistics() }
            }
        }
        finish(listener: listener)
    }

    /// libsrt's epoll failed without waiting: wait out the timeout for a stop instead, so a
    /// lasting failure does not spin the thread.
    private func waitAfterFailure() {
        let error = SRTError.last(.poll, "srt_epoll_uwait")
        logger.error("SRT: waiting for events failed", metadata: ["error": "\(error)"])
        if stopped.lock(whenValue: true, timeoutSeconds: Double(Self.waitMilliseconds) / 1000) { stopped.unlock() }
    }

    private func handle(_ event: SRT_EPOLL_EVENT, listener: SRTListener, scratch: inout [UInt8]) {
        if event.fd == listener.socket.id {
            guard event.events & Int32(SRT_EPOLL_ERR.rawValue) == 0 else {
                // A broken listener stays readable-with-error: stop watching it (connections go on).
                logger.error("SRT: the listener failed; no new connections")
                _ = srt_epoll_remove_usock(epoll, listener.socket.id)
                return
            }
            listener.acceptPending(into: self)
            return
        }
        guard let connection = registry.withLockedValue({ $0.connections[event.fd] }) else { return }
        if event.events & Int32(SRT_EPOLL_IN.rawValue) != 0 {
            connection.readAvailable(scratch: &scratch)
        }
        if event.events & Int32(SRT_EPOLL_ERR.rawValue) != 0 {
            connection.end()
        }
    }

    /// Calls the `onClose` of the connections that ended since the last pass.
    private func deliverEnds() {
        let ended = registry.withLockedValue { registry in
            defer { registry.ended.removeAll() }
            return registry.ended
        }
        for connection in ended { connection.runEndHandler() }
    }

    /// The thread's end: listener and connections closed, their ends delivered, epoll released.
    private func finish(listener: SRTListener) {
        // Connections first: they send their shutdown through the listener's UDP socket.
        for connection in connections { connection.end() }
        listener.close()
        // From here deliverEnd runs onClose on its caller's thread, so nothing queued is missed.
        let ended = registry.withLockedValue { registry in
            registry.phase = .stopped
            defer { registry.ended.removeAll() }
            return registry.ended
        }
        for connection in ended { connection.runEndHandler() }
        srt_epoll_release(epoll)
        finished.lock()
        finished.unlock(withValue: true)
    }
}
