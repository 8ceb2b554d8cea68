import Foundation
import NIOCore
import SRT
import TestSupport
import Testing

/// SRT through a lossy, slow link (TestSupport's UDPLossRelay: seeded 5 % drops each way, 50 ms
/// each way): retransmission recovers every message, and the statistics show it.
@Suite("SRT under loss", .serialized)
struct SRTServerLossTests {
    @Test("a publisher's 1000 messages all arrive in order through 5 % loss, and both ends count the retransmissions")
    func retransmissionsRecover() async throws {
        let handler = RecordingHandler()
        let (server, port) = try startServer(RecordingAdmission.accepting(.publish, latencyMs: 1000), handler)
        defer { server.shutdown() }
        let relay = try UDPLossRelay(serverPort: port, dropRate: 0.05, delay: 0.05, seed: 20, lifetime: 60)
        defer { relay.stop() }
        let messages = 1000
        // Paced at 100 messages per 100 ms, as a live encoder sends; then filler so that a lost
        // last message is noticed (a receiver finds a loss by the gap after it).
        let caller = try await onThread {
            let caller = try SRTCaller(host: "127.0.0.1", port: relay.port, streamID: "stream/lossy", latencyMs: 1000)
            for batch in 0..<((messages + 100) / 10) {
                try caller.send(tsPackets(70, startingAt: batch * 70))
                usleep(10_000)
            }
            return caller
        }
        defer { caller.close() }
        guard case .accepted(let connection) = try await handler.events.next(within: 10, "the publisher") else {
            Issue.record("the first event is not the connection")
            return
        }
        var numbers: [UInt32] = []
        while numbers.count < messages {
            guard case .received(_, let message) = try await handler.events.next(within: 10, "message \(numbers.count)") else { continue }
            numbers.append(message.getInteger(at: 4, as: UInt32.self) ?? .max)
        }
        #expect(numbers == (0..<messages).map { UInt32($0 * 7) })
        let callerStatistics = caller.statistics
        connection.close()
        _ = try await handler.events.next(within: 5, "the end") { if case .closed = $0 { true } else { false } }
        let statistics = connection.statistics
        #expect(relay.counts(.toServer).dropped > 0)
        #expect(statistics.packetsLost > 0)
        #expect(statistics.packetsReceivedRetransmitted > 0)
        #expect(callerStatistics.packetsRetransmitted > 0)
        #expect(statistics.rttMs >= 50)
    }
}
