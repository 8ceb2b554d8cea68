import Foundation
import NIOCore
import SRT
import Testing

/// How connections end: the server shuts down, the caller closes, the caller vanishes.
@Suite("SRT ends", .serialized)
struct SRTServerEndTests {
    @Test("shutting the server down ends every connection: each onClose runs and the callers see it")
    func shutdownEndsConnections() async throws {
        let handler = RecordingHandler()
        let (server, port) = try startServer(RecordingAdmission.accepting(.play), handler)
        let callers = try await onThread {
            try (0..<3).map { try SRTCaller(host: "127.0.0.1", port: port, streamID: "stream/end-\($0)") }
        }
        defer { callers.forEach { $0.close() } }
        var accepted = 0
        while accepted < 3 {
            if case .accepted = try await handler.events.next(within: 5, "the players") { accepted += 1 }
        }
        server.shutdown()
        #expect(server.connections.isEmpty)
        #expect(server.port == nil)
        var closed = Set<String>()
        while closed.count < 3 {
            if case .closed(let streamID) = try await handler.events.next(within: 5, "the ends") { closed.insert(streamID) }
        }
        // Each caller learns of the end: from the shutdown each connection sends, or, should that
        // one datagram not arrive (seen once in about ten runs beside the other suites: a caller
        // still connected 3 s later), from its peer idle timeout (5 s).
        let seen = try await onThread { () -> [String] in
            callers.map { caller in
                let deadline = Date().addingTimeInterval(8)
                var received = Result<ByteBuffer?, any Error>.success(nil)
                while caller.isConnected, Date() < deadline, case .success = received {
                    received = Result { try caller.receive(timeout: .milliseconds(500)) }
                }
                return "\(received.map { $0?.readableBytes ?? 0 }), connected \(caller.isConnected)"
            }
        }
        #expect(seen.allSatisfy { $0.hasSuffix("connected false") }, "\(seen)")
        server.shutdown()
    }

    @Test("a caller that closes ends its connection on the server")
    func callerCloses() async throws {
        let handler = RecordingHandler()
        let (server, port) = try startServer(RecordingAdmission.accepting(.publish), handler)
        defer { server.shutdown() }
        let caller = try await onThread { try SRTCaller(host: "127.0.0.1", port: port, streamID: "stream/bye") }
        guard case .accepted(let connection) = try await handler.events.next(within: 5, "the publisher") else {
            Issue.record("the first event is not the connection")
            return
        }
        caller.close()
        _ = try await handler.events.next(within: 5, "the end") { if case .closed = $0 { true } else { false } }
        #expect(!connection.isOpen)
        #expect(server.connections.isEmpty)
        #expect(!connection.send(tsPackets(7)))
    }

    @Test("a caller that vanishes without a word (ffmpeg killed) is taken as gone after the peer idle timeout")
    func vanishedCaller() async throws {
        let handler = RecordingHandler()
        let (server, port) = try startServer(RecordingAdmission.accepting(.publish), handler, peerIdleTimeout: .seconds(5))
        defer { server.shutdown() }
        let ffmpeg = try FFmpeg.publish(url: "srt://127.0.0.1:\(port)?streamid=stream/vanish&mode=caller", seconds: 30)
        defer { ffmpeg.stop() }
        _ = try await handler.events.next(within: 10, "ffmpeg's data") { if case .received = $0 { true } else { false } }
        ffmpeg.kill()
        let killed = ContinuousClock.now
        _ = try await handler.events.next(within: 12, "the end") { if case .closed = $0 { true } else { false } }
        // libsrt's floor: 16 response-timer expirations of at least 300 ms, about 5 s on loopback.
        let waited = ContinuousClock.now - killed
        #expect(waited > .seconds(4) && waited < .seconds(8), "gone after \(waited)")
        #expect(server.connections.isEmpty)
    }

    @Test("configuration values out of range are refused at construction")
    func configurationLimits() {
        #expect(throws: SRTError.self) { try SRTServerConfiguration(port: 70_000) }
        #expect(throws: SRTError.self) { try SRTServerConfiguration(host: "localhost") }
        #expect(throws: SRTError.self) { try SRTServerConfiguration(decisionTimeout: .seconds(11)) }
        #expect(throws: SRTError.self) { try SRTServerConfiguration(maxConnections: 0) }
        #expect(throws: SRTError.self) { try SRTServerConfiguration(peerIdleTimeout: .milliseconds(500)) }
        #expect(throws: SRTError.self) { try SRTAcceptance(role: .publish, passphrase: "short") }
        #expect(throws: SRTError.self) { try SRTAcceptance(role: .publish, passphrase: String(repeating: "p", count: 80)) }
        #expect(throws: SRTError.self) { try SRTAcceptance(role: .play, latencyMs: -1) }
        #expect(SRTRejectReason.allCases.map(\.code) == [1400, 1401, 1403, 1404, 1409, 1503])
        #expect(SRTRejectReason.allCases.allSatisfy { SRTRejectReason(code: $0.code) == $0 })
    }
}
