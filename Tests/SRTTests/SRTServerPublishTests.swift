import Foundation
import NIOCore
import SRT
import Testing

/// The publish path on loopback: listen, decide, accept, receive.
@Suite("SRT publish", .serialized)
struct SRTServerPublishTests {
    @Test("the admission sees the caller's exact stream ID and peer, and a publisher's bytes arrive in order")
    func publisherBytesArrive() async throws {
        let admission = RecordingAdmission.accepting(.publish)
        let handler = RecordingHandler()
        let (server, port) = try startServer(admission, handler)
        defer { server.shutdown() }
        let streamID = "#!::r=stream/cam-1,m=publish,s=1767225600-0123456789abcdef0123456789abcdef"

        let sent = tsPackets(70)
        let caller = try await onThread {
            let caller = try SRTCaller(host: "127.0.0.1", port: port, streamID: streamID)
            try caller.send(sent)
            return caller
        }
        defer { caller.close() }
        guard case .accepted(let connection) = try await handler.events.next(within: 5, "an accepted connection") else {
            Issue.record("the first event is not the connection")
            return
        }
        #expect(connection.streamID == streamID)
        #expect(connection.role == .publish)
        #expect(connection.acceptance.context as? String == streamID)
        #expect(admission.requests.map(\.streamID) == [streamID])
        #expect(admission.requests.first?.peerIP == "127.0.0.1")
        #expect(admission.requests.first?.peer.hasPrefix("127.0.0.1:") == true)

        var received: [UInt8] = []
        while received.count < sent.readableBytes {
            let event = try await handler.events.next(within: 5, "the publisher's bytes")
            guard case .received(_, let message) = event else { continue }
            #expect(message.readableBytes <= SRTConnection.messageSize)
            received += Array(message.readableBytesView)
        }
        #expect(received == Array(sent.readableBytesView))
        #expect(isTransportStream(received))
    }

    @Test("ffmpeg publishes MPEG-TS over SRT: TS packets arrive, and the admission sees its stream ID")
    func ffmpegPublishes() async throws {
        let admission = RecordingAdmission.accepting(.publish)
        let handler = RecordingHandler()
        let (server, port) = try startServer(admission, handler)
        defer { server.shutdown() }
        // FFmpeg 5.1 passes the streamid option on as written (no percent-decoding).
        let streamID = "#!::r=stream/ffmpeg-1,m=publish"
        let ffmpeg = try FFmpeg.publish(url: "srt://127.0.0.1:\(port)?streamid=\(streamID)&mode=caller", seconds: 3)
        defer { ffmpeg.stop() }

        guard case .accepted(let connection) = try await handler.events.next(within: 10, "ffmpeg's connection") else {
            Issue.record("the first event is not the connection")
            return
        }
        #expect(admission.requests.map(\.streamID) == [streamID])
        var received: [UInt8] = []
        while received.count < 188 * 7 * 20 {
            let event = try await handler.events.next(within: 10, "ffmpeg's TS packets")
            if case .received(_, let message) = event { received += Array(message.readableBytesView) }
        }
        #expect(isTransportStream(received))
        _ = try await handler.events.next(within: 15, "ffmpeg's end") { if case .closed = $0 { true } else { false } }
        #expect(connection.statistics.packetsReceived >= Int64(received.count / SRTConnection.messageSize))
        #expect(connection.statistics.bytesReceived >= UInt64(received.count))
    }

    @Test("a refusal reaches the caller with its access-control code", arguments: SRTRejectReason.allCases)
    func refusalCode(_ reason: SRTRejectReason) async throws {
        let admission = RecordingAdmission { _ in .reject(reason) }
        let (server, port) = try startServer(admission, RecordingHandler())
        defer { server.shutdown() }
        let error = try await onThread { () -> SRTError? in
            do {
                _ = try SRTCaller(host: "127.0.0.1", port: port, streamID: "stream/x?sign=bad")
                return nil
            } catch let error as SRTError {
                return error
            }
        }
        #expect(error?.kind == .rejected)
        #expect(error?.rejectReason == reason.code)
        #expect(error?.reason == reason)
        #expect(server.connections.isEmpty)
        #expect(admission.requests.count == 1, "asked \(admission.requests.count) times")
    }

    @Test("ffmpeg is told its connection was rejected by the application")
    func ffmpegRejected() async throws {
        let admission = RecordingAdmission { _ in .reject(.notFound) }
        let (server, port) = try startServer(admission, RecordingHandler())
        defer { server.shutdown() }
        let ffmpeg = try FFmpeg.publish(url: "srt://127.0.0.1:\(port)?streamid=stream/nope&mode=caller", seconds: 2)
        let output = try await onThread { ffmpeg.waitForExit(seconds: 15) }
        #expect(ffmpeg.exitStatus != 0)
        #expect(admission.requests.map(\.streamID) == ["stream/nope"])
        // FFmpeg 5.1 does not print the code; its libsrt logs the refusal as the application's.
        #expect(output.contains("REJECT reported from HS processing: Application-defined rejection reason"),
                "ffmpeg said: \(output.suffix(400))")
    }
}
