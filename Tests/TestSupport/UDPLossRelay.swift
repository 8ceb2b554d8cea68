import Foundation

/// A lossy, slow UDP link on loopback for tests (this kernel has no `tc netem`): listens on
/// 127.0.0.1 at a port the kernel picks and forwards datagrams between one client (whoever sent
/// to it last) and a fixed server at 127.0.0.1:`serverPort`, dropping a seeded fraction in each
/// direction and holding every datagram for a fixed delay. Datagrams leave in the order they
/// came in, per direction. The relay sends to the server from a port of its own, so the server
/// sees one peer.
///
///     let relay = try UDPLossRelay(serverPort: srtPort, dropRate: 0.05, delay: 0.1, seed: 20)
///     // point the client at 127.0.0.1:\(relay.port); later:
///     relay.stop()
///     relay.counts(.toServer)   // forwarded and dropped datagrams
///
/// It runs on its own thread from `init` until `stop()` or `lifetime` seconds, whichever comes
/// first; `deinit` stops it too.
public final class UDPLossRelay: @unchecked Sendable {  // its thread owns the sockets and queues; `state` is behind `lock`
    public enum Direction: Sendable, Hashable {
        /// Client to server.
        case toServer
        /// Server to client.
        case toClient
    }

    public struct Counts: Sendable, Hashable {
        /// Sent on after the delay.
        public var forwarded = 0
        public var dropped = 0
    }

    /// The port clients send to.
    public let port: Int
    public let dropRate: Double
    /// Seconds each datagram is held.
    public let delay: Double
    private let clientSocket: Int32
    private let serverSocket: Int32
    private let wakePipe: (read: Int32, write: Int32)
    private let lock = NSLock()  // guards `state`, read by the test thread while the relay thread counts
    private var state = (stopping: false, counts: [Direction.toServer: Counts(), .toClient: Counts()])
    private let finished = DispatchSemaphore(value: 0)

    /// Binds the client side and starts relaying.
    /// - Parameters:
    ///   - dropRate: fraction of datagrams dropped in each direction (0…1), decided by a
    ///     generator seeded from `seed` (one per direction), so a run drops the same datagrams.
    ///   - delay: seconds each datagram is held before it is sent on.
    ///   - lifetime: seconds after which the relay stops by itself.
    public init(serverPort: Int, dropRate: Double = 0.05, delay: Double = 0.1, seed: UInt64 = 1, lifetime: Double = 300) throws {
        self.dropRate = min(max(dropRate, 0), 1)
        self.delay = max(delay, 0)
        (clientSocket, port) = try Self.bind()
        var pipeEnds: [Int32] = [0, 0]
        guard let server = try? Self.bind().descriptor, Self.connect(server, port: serverPort), pipe(&pipeEnds) == 0 else {
            close(clientSocket)
            throw TestServerError("UDP relay could not open its sockets")
        }
        serverSocket = server
        wakePipe = (pipeEnds[0], pipeEnds[1])
        let link = RelayLink(relay: self, seed: seed, deadline: Self.now() + max(lifetime, 0))
        let thread = Thread { link.run() }
        thread.name = "udp-loss-relay"
        thread.start()
    }

    deinit {
        stop()
        for descriptor in [clientSocket, serverSocket, wakePipe.read, wakePipe.write] { close(descriptor) }
    }

    /// Stops relaying (datagrams still held are not sent) and waits for the thread to end.
    /// Safe to call more than once.
    public func stop() {
        let first = lock.withLock {
            defer { state.stopping = true }
            return !state.stopping
        }
        guard first else { return }
        var byte: UInt8 = 1
        _ = write(wakePipe.write, &byte, 1)
        finished.wait()
    }

    /// Datagrams forwarded and dropped so far in one direction.
    public func counts(_ direction: Direction) -> Counts {
        lock.withLock { state.counts[direction] ?? Counts() }
    }

    fileprivate var stopping: Bool { lock.withLock { state.stopping } }

    fileprivate func count(_ direction: Direction, dropped: Bool) {
        lock.withLock {
            if dropped { state.counts[direction]?.dropped += 1 } else { state.counts[direction]?.forwarded += 1 }
        }
    }

    fileprivate var descriptors: (client: Int32, server: Int32, wake: Int32) { (clientSocket, serverSocket, wakePipe.read) }

    fileprivate func finish() { finished.signal() }

    /// Seconds on the monotonic clock.
    fileprivate static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// A UDP socket on 127.0.0.1 at a port the kernel picks, with room for bursts.
    private static func bind() throws -> (descriptor: Int32, port: Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var size: Int32 = 4 << 20
        setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Foundation.bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard descriptor >= 0, bound else {
            close(descriptor)
            throw TestServerError("could not bind a UDP socket on 127.0.0.1")
        }
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }

    private static func connect(_ descriptor: Int32, port: Int) -> Bool {
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Foundation.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    fileprivate static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(clamping: port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}

/// The relay thread's own state: the held datagrams of each direction, the client's address
/// and the drop generators. Only the relay thread touches it.
private final class RelayLink: @unchecked Sendable {  // created for, and then used only by, the relay thread
    private struct Held {
        var due: Double
        var bytes: [UInt8]
    }

    private unowned(unsafe) let relay: UDPLossRelay
    private let deadline: Double
    private var generators: [UDPLossRelay.Direction: SeededGenerator]
    private var held: [UDPLossRelay.Direction: [Held]] = [.toServer: [], .toClient: []]
    private var client: sockaddr_in?
    private var buffer = [UInt8](repeating: 0, count: 65_536)

    init(relay: UDPLossRelay, seed: UInt64, deadline: Double) {
        self.relay = relay
        self.deadline = deadline
        generators = [.toServer: SeededGenerator(seed: seed), .toClient: SeededGenerator(seed: ~seed)]
    }

    func run() {
        let (client, server, wake) = relay.descriptors
        var descriptors = [pollfd(fd: client, events: Int16(POLLIN), revents: 0), pollfd(fd: server, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
        while !relay.stopping, UDPLossRelay.now() < deadline {
            let next = [held[.toServer]?.first?.due, held[.toClient]?.first?.due, deadline].compactMap { $0 }.min() ?? deadline
            let timeout = Int32(max(0, min(1000, ((next - UDPLossRelay.now()) * 1000).rounded(.up))))
            guard poll(&descriptors, 3, timeout) >= 0 || errno == EINTR else { break }
            if descriptors[0].revents & Int16(POLLIN) != 0 { receive(from: client, toward: .toServer) }
            if descriptors[1].revents & Int16(POLLIN) != 0 { receive(from: server, toward: .toClient) }
            sendDue(client: client, server: server)
        }
        relay.finish()
    }

    /// Reads what is waiting on one socket (without blocking, at most 256 datagrams so sending
    /// keeps its time under a flood) and holds or drops each one.
    private func receive(from descriptor: Int32, toward direction: UDPLossRelay.Direction) {
        for _ in 0..<256 {
            var sender = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let size = withUnsafeMutablePointer(to: &sender) { address in
                address.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT), $0, &length)
                }
            }
            guard size >= 0 else { return }
            if direction == .toServer { client = sender }
            let dropped = Double.random(in: 0..<1, using: &generators[direction]!) < relay.dropRate
            if dropped {
                relay.count(direction, dropped: true)
            } else {
                held[direction]?.append(Held(due: UDPLossRelay.now() + relay.delay, bytes: Array(buffer[0..<size])))
            }
        }
    }

    /// Sends every held datagram whose time has come, oldest first.
    private func sendDue(client clientSocket: Int32, server: Int32) {
        let now = UDPLossRelay.now()
        for direction in [UDPLossRelay.Direction.toServer, .toClient] {
            var sent = 0
            for datagram in held[direction] ?? [] {
                guard datagram.due <= now else { break }
                sent += 1
                relay.count(direction, dropped: false)
                if direction == .toServer {
                    _ = send(server, datagram.bytes, datagram.bytes.count, Int32(MSG_DONTWAIT))
                } else if var address = client {
                    _ = withUnsafePointer(to: &address) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            sendto(clientSocket, datagram.bytes, datagram.bytes.count, Int32(MSG_DONTWAIT), $0,
                                   socklen_t(MemoryLayout<sockaddr_in>.size))
                        }
                    }
                }
            }
            held[direction]?.removeFirst(sent)
        }
    }
}
