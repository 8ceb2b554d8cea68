import Foundation
import TestSupport
import Testing

private struct PeerError: Error {}

/// One loopback UDP socket with a thread that records what arrives (sequence number and the
/// time it took since it was sent, both carried in the datagram) and can echo it back.
private final class Peer: @unchecked Sendable {  // `received` is written by the reader thread and read after `done` is waited on
    let socket: Int32
    let port: Int
    private(set) var received: [(sequence: UInt32, latency: Double)] = []
    private let done = DispatchSemaphore(value: 0)

    init() throws {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var size: Int32 = 4 << 20
        setsockopt(socket, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.address(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else {
            close(socket)
            throw PeerError()
        }
        self.socket = socket
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(socket) }

    static func address(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Sends sequence number and send time to 127.0.0.1:`port`.
    func send(_ sequence: UInt32, to port: Int) {
        var bytes = withUnsafeBytes(of: sequence.bigEndian) { Array($0) } + withUnsafeBytes(of: Self.now().bitPattern) { Array($0) }
        bytes += [UInt8](repeating: 0xAB, count: 100)
        var address = Self.address(port: port)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(socket, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }

    /// Reads on a thread until nothing has come for `idle` seconds (or `limit` pass), echoing
    /// each datagram to its sender when `echo`.
    func startReading(echo: Bool, idle: Double = 1.5, limit: Double = 30) {
        Thread { [self] in
            let end = Self.now() + limit
            var last = Self.now()
            var buffer = [UInt8](repeating: 0, count: 2048)
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            while Self.now() < end, Self.now() - last < idle {
                guard poll(&descriptor, 1, 100) > 0 else { continue }
                var sender = sockaddr_in()
                var length = socklen_t(MemoryLayout<sockaddr_in>.size)
                let size = withUnsafeMutablePointer(to: &sender) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(socket, &buffer, buffer.count, 0, $0, &length) }
                }
                guard size >= 12 else { continue }
                last = Self.now()
                let sequence = buffer[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                let sent = Double(bitPattern: buffer[4..<12].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
                received.append((sequence, last - sent))
                if echo {
                    _ = withUnsafePointer(to: &sender) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(socket, buffer, size, 0, $0, length) }
                    }
                }
            }
            done.signal()
        }.start()
    }

    func waitUntilDone() { done.wait() }
}

/// The loss relay the SRT end-to-end tests put between a publisher and Sluice: seeded drops in
/// both directions, a fixed delay, order kept.
@Suite struct UDPLossRelayTests {
    @Test func dropsASeededFractionDelaysEveryDatagramAndKeepsOrder() throws {
        let server = try Peer()
        let client = try Peer()
        let relay = try UDPLossRelay(serverPort: server.port, dropRate: 0.05, delay: 0.1, seed: 20, lifetime: 60)
        server.startReading(echo: true)
        client.startReading(echo: false)
        for sequence in 0..<UInt32(2000) {
            client.send(sequence, to: relay.port)
            // Paced like a 2 MB/s sender, so no kernel socket buffer on the way overflows.
            if sequence % 50 == 49 { usleep(5000) }
        }
        server.waitUntilDone()
        client.waitUntilDone()
        relay.stop()

        let toServer = relay.counts(.toServer)
        #expect(toServer.forwarded + toServer.dropped == 2000)
        #expect((60...140).contains(toServer.dropped), "dropped \(toServer.dropped) of 2000 toward the server")
        #expect(server.received.count == toServer.forwarded)
        let order = server.received.map(\.sequence)
        #expect(order == order.sorted() && Set(order).count == order.count)
        #expect(server.received.allSatisfy { $0.latency >= 0.1 && $0.latency < 2 })

        let toClient = relay.counts(.toClient)
        #expect(toClient.forwarded + toClient.dropped == server.received.count)
        #expect((50...140).contains(toClient.dropped), "dropped \(toClient.dropped) toward the client")
        #expect(client.received.count == toClient.forwarded)
        // Back and forth through the relay: held twice.
        #expect(client.received.allSatisfy { $0.latency >= 0.2 })
    }

    @Test func theSameSeedDropsTheSameDatagramsAndStopEndsRelaying() throws {
        var dropped: [[UInt32]] = []
        for _ in 0..<2 {
            let server = try Peer()
            let client = try Peer()
            let relay = try UDPLossRelay(serverPort: server.port, dropRate: 0.2, delay: 0.01, seed: 7)
            server.startReading(echo: false, idle: 0.8)
            for sequence in 0..<UInt32(300) {
                client.send(sequence, to: relay.port)
                if sequence % 50 == 49 { usleep(5000) }
            }
            server.waitUntilDone()
            relay.stop()
            let received = Set(server.received.map(\.sequence))
            dropped.append((0..<300).filter { !received.contains($0) })
            #expect(relay.counts(.toServer).forwarded + relay.counts(.toServer).dropped == 300)
        }
        #expect(dropped[0] == dropped[1])
        #expect(!dropped[0].isEmpty)
    }
}
