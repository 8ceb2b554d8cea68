import Foundation
import NIOConcurrencyHelpers
import NIOCore
import SRT
import Testing

/// The play path on loopback: a connection accepted to play receives what `send` sends.
@Suite("SRT play", .serialized)
struct SRTServerPlayTests {
    @Test("a play connection receives what send sends, whole, in 1316-byte messages")
    func playReceivesSend() async throws {
        let handler = RecordingHandler()
        let (server, port) = try startServer(RecordingAdmission.accepting(.play), handler)
        defer { server.shutdown() }
        let caller = try await onThread { try SRTCaller(host: "127.0.0.1", port: port, streamID: "#!::r=stream/p1,m=request") }
        defer { caller.close() }
        guard case .accepted(let connection) = try await handler.events.next(within: 5, "the player") else {
            Issue.record("the first event is not the connection")
            return
        }
        #expect(connection.role == .play)
        let sent = tsPackets(7 * 30)
        #expect(connection.send(sent))

        let received = try await onThread { () -> [[UInt8]] in
            var messages: [[UInt8]] = []
            while messages.reduce(0, { $0 + $1.count }) < sent.readableBytes {
                guard let message = try caller.receive(timeout: .seconds(3)) else { break }
                messages.append(Array(message.readableBytesView))
            }
            return messages
        }
        #expect(received.allSatisfy { $0.count == SRTConnection.messageSize })
        #expect(received.flatMap { $0 } == Array(sent.readableBytesView))
    }

    @Test("send never blocks: to a player that reads nothing it answers false once libsrt's buffer is full")
    func sendToFullBuffer() async throws {
        let handler = RecordingHandler()
        let (server, port) = try startServer(RecordingAdmission.accepting(.play), handler)
        defer { server.shutdown() }
        let caller = try await onThread { try SRTCaller(host: "127.0.0.1", port: port, streamID: "stream/full") }
        defer { caller.close() }
        guard case .accepted(let connection) = try await handler.events.next(within: 5, "the player") else {
            Issue.record("the first event is not the connection")
            return
        }
        let chunk = tsPackets(7 * 64)
        let started = ContinuousClock.now
        var queued = 0
        // At most 64 MB: libsrt's default send buffer holds 8192 packets (about 11 MB of payload).
        while queued < 64 << 20, connection.send(chunk) { queued += chunk.readableBytes }
        let took = ContinuousClock.now - started
        #expect(queued > 0 && queued < 64 << 20, "queued \(queued) bytes")
        #expect(took < .seconds(2), "took \(took)")
        #expect(connection.isOpen)
    }

    @Test("ffprobe plays an SRT connection fed by send and finds the H.264 stream")
    func ffprobePlays() async throws {
        // One SRT connection publishes ffmpeg's TS, a second plays it: each received message is sent on.
        let relay = RelayHandler()
        let admission = RecordingAdmission { request in
            .accept(try! SRTAcceptance(role: request.streamID.contains("m=publish") ? .publish : .play))
        }
        let (server, port) = try startServer(admission, relay)
        defer { server.shutdown() }
        let ffmpeg = try FFmpeg.publish(url: "srt://127.0.0.1:\(port)?streamid=#!::r=stream/p2,m=publish&mode=caller", seconds: 8)
        defer { ffmpeg.stop() }
        try await relay.publisherArrived.next(within: 10, "the publisher")
        let probe = try FFmpeg.probe(url: "srt://127.0.0.1:\(port)?streamid=#!::r=stream/p2,m=request&mode=caller")
        let output = try await onThread { probe.waitForExit(seconds: 15) }
        #expect(probe.exitStatus == 0, "ffprobe said: \(output.suffix(400))")
        #expect(output.contains("\"codec_name\": \"h264\""), "ffprobe said: \(output.suffix(400))")
        #expect(relay.sentBytes > 0)
    }
}

/// Sends every publisher's messages on to every player.
final class RelayHandler: SRTConnectionHandler {
    let publisherArrived: AsyncStream<Void>
    private let arrived: AsyncStream<Void>.Continuation
    // the players to copy to, and the bytes copied: the SRT thread adds and sends, the test reads
    private let state = NIOLockedValueBox((players: [SRTConnection](), sent: 0))

    init() { (publisherArrived, arrived) = AsyncStream.makeStream() }

    var sentBytes: Int { state.withLockedValue { $0.sent } }

    func accepted(_ connection: SRTConnection, acceptance: SRTAcceptance) {
        guard acceptance.role == .publish else {
            state.withLockedValue { $0.players.append(connection) }
            connection.onClose {}
            return
        }
        arrived.yield()
        connection.onReceive({ [state] message in
            let players = state.withLockedValue { $0.players }
            for player in players where player.send(message) {
                state.withLockedValue { $0.sent += message.readableBytes }
            }
        }, onClose: {})
    }
}
