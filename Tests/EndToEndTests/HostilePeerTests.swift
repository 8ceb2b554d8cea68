import Foundation
import Testing

extension EndToEnd {
    /// Bad peers on the RTMP and HTTP ports must not hurt a live stream or its viewers.
    @Suite(.timeLimit(.minutes(2)))
    struct HostilePeerTests {
        /// A raw loopback TCP client.
        final class RawClient {
            let descriptor: Int32

            init(port: Int, receiveBuffer: Int32? = nil) throws {
                descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                if var size = receiveBuffer {
                    setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
                }
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = in_port_t(UInt16(port).bigEndian)
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
                guard connected == 0 else { throw E2EError("connect to \(port) failed") }
            }

            func send(_ bytes: [UInt8]) {
                _ = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }

            /// Reads what is there within `timeout`; empty when the peer closed.
            func receive(max: Int = 65536, timeout: Int32 = 2000) -> [UInt8] {
                var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, timeout) > 0 else { return [] }
                var buffer = [UInt8](repeating: 0, count: max)
                let count = recv(descriptor, &buffer, max, 0)
                return count > 0 ? Array(buffer[0..<count]) : []
            }

            deinit { close(descriptor) }
        }

        @Test func garbageAndHalfOpenConnectionsLeaveAStreamAndItsViewersUnharmed() throws {
            let server = try SluiceProcess(extraArguments: ["--log-level", "debug"])
            defer { server.stop() }
            let publisher = try Tools.publish(to: server.pushURL("steady"), seconds: 10)
            try Tools.waitUntilLive(server.flvURL("steady"))
            let viewer = try Tools.startProbe(server.flvURL("steady"))

            var generator = SystemRandomNumberGenerator()
            var attackers: [RawClient] = []
            for _ in 0..<5 {
                let garbage = try RawClient(port: server.rtmpPort)
                garbage.send((0..<65536).map { _ in UInt8.random(in: 0...255, using: &generator) })
                attackers.append(garbage)
            }
            // Valid handshake, then chunks that lie about their size and stream ids.
            let liar = try RawClient(port: server.rtmpPort)
            liar.send([3] + [UInt8](repeating: 0, count: 1536))
            _ = liar.receive(max: 3073)
            liar.send([UInt8](repeating: 0, count: 1536) + [0x03, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x14, 0, 0, 0, 0] + [UInt8](repeating: 7, count: 4096))
            attackers.append(liar)
            // Half-open: a partial C1, then silence.
            let halfOpen = try RawClient(port: server.rtmpPort)
            halfOpen.send([3] + [UInt8](repeating: 1, count: 700))
            attackers.append(halfOpen)
            // And a garbage HTTP request.
            let http = try RawClient(port: server.httpPort)
            http.send(Array("GARBAGE /\u{0}\u{1} HTTP/9\r\n\r\n".utf8))
            #expect(String(decoding: http.receive(), as: UTF8.self).hasPrefix("HTTP/1.1 400"))
            attackers.append(http)

            let probe = try Tools.probeResult(viewer)
            #expect(probe.video?.codec_name == "h264")
            #expect(probe.videoSeconds >= 5, "viewer played \(probe.videoSeconds) s")
            #expect(publisher.wait().status == 0)
            #expect(try Tools.httpStatus("http://127.0.0.1:\(server.httpPort)/healthz") == 200)
            #expect(server.serverLog.contains("closing connection after error"))
            _ = attackers
        }

        @Test func aViewerThatStopsReadingDoesNotSlowOthersOrGrowMemory() throws {
            let server = try SluiceProcess()
            defer { server.stop() }
            let publisher = try Tools.publish(to: server.pushURL("busy"), seconds: 14, videoBitrate: "2500k")
            try Tools.waitUntilLive(server.flvURL("busy"))
            let baseline = server.residentKilobytes
            // Requests the stream, then never reads: the kernel buffers fill, then Sluice's queue.
            let stalled = try RawClient(port: server.httpPort, receiveBuffer: 8192)
            stalled.send(Array("GET /busy/live.flv HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            let healthy = try Tools.startProbe(server.flvURL("busy"))
            let probe = try Tools.probeResult(healthy)
            #expect(probe.videoSeconds >= 8, "healthy viewer played \(probe.videoSeconds) s")
            let grown = server.residentKilobytes - baseline
            #expect(grown < 40_000, "server grew \(grown) KB with a stalled viewer")
            let metrics = try Tools.run("curl", ["-s", "--max-time", "5", "http://127.0.0.1:\(server.httpPort)/metrics"]).output
            let drops = metrics.split(separator: "\n").first { $0.hasPrefix("sluice_viewer_dropped_gops_total ") }
            #expect((drops?.split(separator: " ").last.flatMap { Double($0) } ?? 0) > 0, "\(metrics)")
            #expect(publisher.wait().status == 0)
            _ = stalled
        }
    }
}
