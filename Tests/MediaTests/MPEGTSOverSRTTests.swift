import Foundation
@testable import Media
import NIOCore
import TestSupport
import Testing

/// A transport stream that crossed a lossy link: ffmpeg publishes over SRT (libsrt) through
/// `UDPLossRelay` (5 % of datagrams dropped each way, 100 ms each way) to an ffmpeg SRT
/// listener; SRT's retransmissions must hide the loss, so the demuxer reads every frame.
@Suite(.timeLimit(.minutes(1))) struct MPEGTSOverSRTTests {
    @Test func everyFrameArrivesThroughTheLossRelay() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("srt-relay-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("received.ts")
        let listenerPort = try Self.freeUDPPort()
        let relay = try UDPLossRelay(serverPort: listenerPort, dropRate: 0.05, delay: 0.1, seed: 20, lifetime: 50)
        // SRT latency (µs) well above the relay's 200 ms round trip, so retransmissions arrive in time.
        let options = "latency=600000&connect_timeout=10000&pkt_size=1316"
        let listener = try Self.ffmpeg(["-i", "srt://127.0.0.1:\(listenerPort)?mode=listener&\(options)", "-c", "copy",
                                        "-f", "mpegts", output.path])
        let caller = try Self.ffmpeg(["-re", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30", "-f", "lavfi",
                                      "-i", "sine=frequency=440:sample_rate=44100", "-t", "3", "-c:v", "libx264", "-preset",
                                      "veryfast", "-bf", "2", "-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "mpegts",
                                      "srt://127.0.0.1:\(relay.port)?mode=caller&linger=10&\(options)"])
        let callerExited = Self.wait(caller, seconds: 30)
        let listenerExited = Self.wait(listener, seconds: 10)
        relay.stop()
        #expect(callerExited && caller.terminationStatus == 0)
        #expect(listenerExited)

        let stream = DemuxedStream.demux(ByteBuffer(bytes: try Data(contentsOf: output)))
        #expect(stream.videoFrames.count == 90)
        #expect(stream.videoFrames.filter(\.info.isKeyframe).count == 3)
        #expect(stream.audioFrames.count >= 128)
        #expect(stream.statistics.continuityErrors == 0 && stream.statistics.pesDropped == 0)
        let toServer = relay.counts(.toServer)
        let toClient = relay.counts(.toClient)
        #expect(toServer.dropped > 0 && toClient.dropped > 0, "relay: \(toServer) to the listener, \(toClient) back")
    }

    private static func ffmpeg(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        process.arguments = ["-hide_banner", "-loglevel", "error", "-nostdin", "-y"] + arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Waits for `process` to exit, at most `seconds`; kills it and returns false after that.
    private static func wait(_ process: Process, seconds: Double) -> Bool {
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        guard process.isRunning else { return true }
        guard exited.wait(timeout: .now() + seconds) == .success else {
            process.terminate()
            process.waitUntilExit()
            return false
        }
        return true
    }

    /// A UDP port the kernel picks, closed again for ffmpeg to bind.
    private static func freeUDPPort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else { throw MediaFormatError(.unsupported, "no free UDP port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
