import Foundation
import NIOCore
import SRT
import Testing

/// Passphrases, limits, statistics and the ends of connections, on loopback.
@Suite("SRT lifecycle", .serialized)
struct SRTServerLifecycleTests {
    static let passphrase = "correct horse battery"

    /// Connects a caller on its own thread; the error it got, nil if it connected (then closed).
    private func connectError(port: Int, passphrase: String?, keyLength: SRTKeyLength? = nil) async throws -> SRTError? {
        try await onThread { () -> SRTError? in
            do {
                let caller = try SRTCaller(host: "127.0.0.1", port: port, streamID: "stream/enc",
                                           passphrase: passphrase, keyLength: keyLength)
                caller.close()
                return nil
            } catch let error as SRTError {
                return error
            }
        }
    }

    @Test("a wrong passphrase or none is refused by libsrt; the right one connects and its bytes arrive")
    func passphrases() async throws {
        let handler = RecordingHandler()
        let (server, port) = try startServer(RecordingAdmission.accepting(.publish, passphrase: Self.passphrase), handler)
        defer { server.shutdown() }

        let wrong = try await connectError(port: port, passphrase: "not the passphrase")
        #expect(wrong?.kind == .rejected)
        #expect(wrong?.rejectReason == SRTError.rejectedBadSecret)
        let none = try await connectError(port: port, passphrase: nil)
        #expect(none?.kind == .rejected)
        #expect(none?.rejectReason == SRTError.rejectedUnsecure)

        let sent = tsPackets(14)
        let caller = try await onThread {
            let caller = try SRTCaller(host: "127.0.0.1", port: port, streamID: "stream/enc", passphrase: Self.passphrase)
            try caller.send(sent)
            return caller
        }
        defer { caller.close() }
        var received: [UInt8] = []
        while received.count < sent.readableBytes {
            if case .received(_, let message) = try await handler.events.next(within: 5, "the encrypted bytes") {
                received += Array(message.readableBytesView)
            }
        }
        #expect(received == Array(sent.readableBytesView))
    }

    /// The key length each caller ends with, for callers asking for none, AES-128 and AES-256.
    private func keyLengthsSettled(server: SRTKeyLength?) async throws -> [SRTKeyLength?] {
        let handler = RecordingHandler()
        let (srt, port) = try startServer(RecordingAdmission.accepting(.publish, passphrase: Self.passphrase), handler,
                                          keyLength: server)
        defer { srt.shutdown() }
        var settled: [SRTKeyLength?] = []
        for callerKey in [nil, SRTKeyLength.aes128, .aes256] {
            let caller = try await onThread {
                try SRTCaller(host: "127.0.0.1", port: port, streamID: "stream/key", passphrase: Self.passphrase, keyLength: callerKey)
            }
            defer { caller.close() }
            guard case .accepted(let connection) = try await handler.events.next(within: 5, "the connection") else {
                Issue.record("the first event is not the connection")
                return []
            }
            #expect(connection.keyLength == caller.keyLength)
            settled.append(caller.keyLength)
            connection.close()
            _ = try await handler.events.next(within: 5, "the end") { if case .closed = $0 { true } else { false } }
        }
        return settled
    }

    @Test("the server's key length applies to every caller; without one each caller's choice does (AES-128 by default)")
    func keyLengths() async throws {
        #expect(try await keyLengthsSettled(server: .aes256) == [.aes256, .aes256, .aes256])
        #expect(try await keyLengthsSettled(server: nil) == [.aes128, .aes128, .aes256])
        #expect(SRTKeyLength(passphrase: Self.passphrase) == .aes128)
        #expect(SRTKeyLength(passphrase: String(repeating: "k", count: 32)) == .aes256)
    }

    @Test("twenty callers at once are each accepted and each one's bytes arrive")
    func manyCallers() async throws {
        let handler = RecordingHandler()
        let admission = RecordingAdmission.accepting(.publish)
        let (server, port) = try startServer(admission, handler)
        defer { server.shutdown() }
        let count = 20
        let callers = try await withThrowingTaskGroup(of: SRTCaller.self) { group in
            for index in 0..<count {
                group.addTask {
                    try await onThread {
                        let caller = try SRTCaller(host: "127.0.0.1", port: port, streamID: "stream/many-\(index)")
                        try caller.send(tsPackets(7, startingAt: index * 7))
                        return caller
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        defer { callers.forEach { $0.close() } }
        var bytes: [String: Int] = [:]
        while bytes.count < count || bytes.values.contains(where: { $0 < 7 * 188 }) {
            if case .received(let streamID, let message) = try await handler.events.next(within: 10, "every caller's bytes") {
                bytes[streamID, default: 0] += message.readableBytes
            }
        }
        #expect(Set(bytes.keys) == Set((0..<count).map { "stream/many-\($0)" }))
        #expect(server.connections.count == count)
        #expect(admission.requests.count == count)
    }

    @Test("callers beyond maxConnections are refused with 1503")
    func connectionLimit() async throws {
        let handler = RecordingHandler()
        let (server, port) = try startServer(RecordingAdmission.accepting(.play), handler, maxConnections: 2)
        defer { server.shutdown() }
        let first = try await onThread { try SRTCaller(host: "127.0.0.1", port: port, streamID: "a") }
        let second = try await onThread { try SRTCaller(host: "127.0.0.1", port: port, streamID: "b") }
        defer { first.close(); second.close() }
        let third = try await connectError(port: port, passphrase: nil)
        #expect(third?.reason == .unavailable)
    }

    @Test("an admission slower than decisionTimeout gets the caller refused with 1503")
    func slowAdmission() async throws {
        let admission = RecordingAdmission(delay: .seconds(3)) { _ in .accept(try! SRTAcceptance(role: .publish)) }
        let (server, port) = try startServer(admission, RecordingHandler(), decisionTimeout: .milliseconds(200))
        defer { server.shutdown() }
        let started = ContinuousClock.now
        let error = try await connectError(port: port, passphrase: nil)
        #expect(error?.reason == .unavailable)
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(admission.requests.count == 1, "asked \(admission.requests.count) times")
    }

    @Test("an admission that answers within decisionTimeout but after libsrt's handshake retries is asked once")
    func slowButInTime() async throws {
        let admission = RecordingAdmission(delay: .milliseconds(700)) { _ in .accept(try! SRTAcceptance(role: .publish)) }
        let handler = RecordingHandler()
        let (server, port) = try startServer(admission, handler)
        defer { server.shutdown() }
        let caller = try await onThread { try SRTCaller(host: "127.0.0.1", port: port, streamID: "stream/slow") }
        defer { caller.close() }
        _ = try await handler.events.next(within: 5, "the connection") { if case .accepted = $0 { true } else { false } }
        #expect(admission.requests.count == 1)
    }

    @Test("the acceptance's latency wins over a caller's lower one, both ways", arguments: [SRTRole.publish, .play])
    func latency(_ role: SRTRole) async throws {
        let handler = RecordingHandler()
        let (server, port) = try startServer(RecordingAdmission.accepting(role, latencyMs: 400), handler)
        defer { server.shutdown() }
        let caller = try await onThread { try SRTCaller(host: "127.0.0.1", port: port, streamID: "stream/lat", latencyMs: 80) }
        defer { caller.close() }
        guard case .accepted(let connection) = try await handler.events.next(within: 5, "the connection") else {
            Issue.record("the first event is not the connection")
            return
        }
        #expect(connection.latencyMs == 400)
    }

    @Test("an IPv6 listener takes an IPv6 caller and reports its address in brackets")
    func ipv6() async throws {
        let configuration = try SRTServerConfiguration(host: "::1", port: 0)
        let admission = RecordingAdmission.accepting(.play)
        let server = try SRTServer(configuration: configuration, admission: admission, handler: RecordingHandler())
        let port = try server.start()
        defer { server.shutdown() }
        let caller = try await onThread { try SRTCaller(host: "::1", port: port, streamID: "stream/v6") }
        defer { caller.close() }
        #expect(admission.requests.first?.peerIP == "::1")
        #expect(admission.requests.first?.peer.hasPrefix("[::1]:") == true)
    }

    @Test("a listener on :: takes IPv4 callers too, reported by their plain IPv4 address")
    func dualStack() async throws {
        let configuration = try SRTServerConfiguration(host: "::", port: 0)
        let admission = RecordingAdmission.accepting(.play)
        let server = try SRTServer(configuration: configuration, admission: admission, handler: RecordingHandler())
        let port = try server.start()
        defer { server.shutdown() }
        let caller = try await onThread { try SRTCaller(host: "127.0.0.1", port: port, streamID: "stream/v4") }
        defer { caller.close() }
        #expect(admission.requests.first?.peerIP == "127.0.0.1")
        #expect(admission.requests.first?.peer.hasPrefix("127.0.0.1:") == true)
    }

    @Test("statistics count the packets a publisher sent, and are final once the connection ends")
    func statistics() async throws {
        let handler = RecordingHandler()
        let (server, port) = try startServer(RecordingAdmission.accepting(.publish), handler)
        defer { server.shutdown() }
        let messages = 50
        let caller = try await onThread {
            let caller = try SRTCaller(host: "127.0.0.1", port: port, streamID: "stream/stats")
            try caller.send(tsPackets(7 * messages))
            return caller
        }
        defer { caller.close() }
        guard case .accepted(let connection) = try await handler.events.next(within: 5, "the publisher") else {
            Issue.record("the first event is not the connection")
            return
        }
        var received = 0
        while received < messages {
            if case .received = try await handler.events.next(within: 5, "the messages") { received += 1 }
        }
        #expect(caller.statistics.packetsSent >= Int64(messages))
        connection.close()
        _ = try await handler.events.next(within: 5, "the end") { if case .closed = $0 { true } else { false } }
        let statistics = connection.statistics
        #expect(statistics.packetsReceived >= Int64(messages))
        #expect(statistics.bytesReceived >= UInt64(messages * SRTConnection.messageSize))
        #expect(statistics.packetsLost == 0)
        #expect(!connection.isOpen)
    }
}
