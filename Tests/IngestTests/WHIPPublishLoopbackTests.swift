import Events
import Foundation
import Media
import NIOCore
import NIOPosix
import RTC
import SDP
import Testing
import WebRTC
import WebRTCMedia
@testable import Ingest

/// One WHIP publish in process, over loopback UDP: a `WebRTCClient` offers sendonly H.264 and
/// Opus, the service admits it and answers, ICE, DTLS and SRTP run against the real
/// `WebRTCServer`, and RTP made from a real encoder's output (ffmpeg: libx264 without B-frames,
/// libopus in Ogg) comes out on the bus as the `MediaFrame`s an RTMP publisher gives: the stream
/// goes online over `whip`, the AVC sequence header and frames, AAC's sequence header and
/// frames; `DELETE` takes it offline as unpublished.
extension WHIPIngestServiceTests {
    @Test func aPublisherOverLoopbackPutsFramesOnTheBus() async throws {
        let (service, server) = try await service()
        let lifecycle = bus.subscribe(to: .streamLifecycle, from: .end)
        let media = bus.subscribe(to: .mediaSource, from: .end)
        let client = WebRTCClient(group: MultiThreadedEventLoopGroup.singleton, certificate: try RTCCertificate.generate(),
                                  options: .init(role: .whip))
        let offer = try WebRTCOffer(SessionDescription(parsing: client.offer))
        let result = await service.publish(name: "cam1", sign: sign("cam1"), query: [:], offer: offer, clientIP: "127.0.0.1",
                                           peer: "127.0.0.1:50000")
        guard case .success(let created) = result else {
            Issue.record("refused: \(result)")
            return
        }
        try await client.connect(answer: created.answer)

        let video = try Self.videoPackets(ssrc: client.options.videoSSRC)
        let audio = try Self.audioPackets(ssrc: client.options.audioSSRC)
        for index in 0..<max(video.count, audio.count) {
            if index < video.count { for packet in video[index] { client.sendRTP(packet) } }
            if index < audio.count { client.sendRTP(audio[index]) }
            try await Task.sleep(for: .milliseconds(2))
        }

        var frames: [MediaFrame] = []
        var iterator = media.makeAsyncIterator()
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline, frames.filter({ $0.kind == .video }).count < 24 || frames.filter({ $0.kind == .audio }).count < 40 {
            guard let delivery = try await iterator.next(), case .frame(let frame) = delivery.record.value else { break }
            frames.append(frame)
        }
        let videoFrames = frames.filter { $0.kind == .video }
        let audioFrames = frames.filter { $0.kind == .audio }
        #expect(videoFrames.first?.isSequenceHeader == true)
        #expect(videoFrames.dropFirst().first?.isKeyframe == true)
        #expect(videoFrames.count >= 24)
        #expect(videoFrames.allSatisfy { $0.codec == "avc1" })
        #expect(audioFrames.allSatisfy { $0.codec == "aac" })
        #expect(audioFrames.first?.isSequenceHeader == true)
        #expect(audioFrames.count >= 40)
        for (previous, next) in zip(videoFrames.dropFirst(), videoFrames.dropFirst(2)) { #expect(next.dts - previous.dts == 40) }
        for (previous, next) in zip(audioFrames.dropFirst(), audioFrames.dropFirst(2)) { #expect((21...22).contains(next.dts - previous.dts)) }

        #expect(await service.end(stream: StreamID("cam1")!, session: created.sessionID))
        var events: [LifecycleEvent] = []
        var lifecycleIterator = lifecycle.makeAsyncIterator()
        while events.count < 2, let delivery = try await lifecycleIterator.next() {
            if case .lifecycle(let event) = delivery.record.value { events.append(event) }
        }
        guard case .online(let online) = events.first, case .offline(let offline) = events.last else {
            Issue.record("lifecycle: \(events)")
            return
        }
        #expect(online.protocolName == "whip" && online.streamID == StreamID("cam1")!)
        #expect(offline.reason == .unpublished)
        await client.close()
        await server.shutdown()
        await bus.shutdown()
    }

    /// An operator's kick closes the peer session and ends the stream as stopped; a publisher
    /// that leaves (DTLS close_notify, then no more consent checks: the server's consent timeout
    /// is 2 s here) ends it as disconnected. Both give the lock back.
    @Test func aKickStopsThePublishAndAPeerThatLeavesDisconnectsIt() async throws {
        let environment = try environment()
        let (_, server) = try await service(consentTimeout: .seconds(2))
        let service = WHIPIngestService(environment: environment, server: server)
        let lifecycle = bus.subscribe(to: .streamLifecycle, from: .end)
        var events = lifecycle.makeAsyncIterator()
        let video = try Self.videoPackets(ssrc: 0x1000_0001)
        for ending in ["kick", "leave"] {
            let client = WebRTCClient(group: MultiThreadedEventLoopGroup.singleton, certificate: try RTCCertificate.generate(),
                                      options: .init(role: .whip, consentInterval: .milliseconds(300)))
            var created: WebRTCSessionCreated?
            try await waitUntil {
                let result = await service.publish(name: "cam1", sign: sign("cam1"), query: [:],
                                                   offer: try WebRTCOffer(SessionDescription(parsing: client.offer)),
                                                   clientIP: "127.0.0.1", peer: "127.0.0.1:50000")
                if case .success(let answered) = result { created = answered }
                return created != nil  // the previous publish's lock goes back on a task
            }
            let session = try #require(created)
            try await client.connect(answer: session.answer)
            for packets in video.prefix(5) {
                for packet in packets { client.sendRTP(packet) }
                try await Task.sleep(for: .milliseconds(5))
            }
            guard case .online(let online) = try await Self.nextLifecycle(&events) else {
                Issue.record("no stream.online")
                return
            }
            #expect(online.protocolName == "whip" && online.client.hasPrefix("127.0.0.1:"))
            if ending == "kick" {
                #expect(environment.publishers.kick(StreamID("cam1")!))
            } else {
                await client.close()
            }
            guard case .offline(let offline) = try await Self.nextLifecycle(&events) else {
                Issue.record("no stream.offline after the \(ending)")
                return
            }
            #expect(offline.reason == (ending == "kick" ? .stopped : .disconnected))
            try await waitUntil { server.session(id: session.sessionID) == nil && service.publishes.isEmpty }
            if ending == "kick" { await client.close() }
        }
        await server.shutdown()
        await bus.shutdown()
    }

    static func nextLifecycle(_ events: inout BusSubscription.AsyncIterator) async throws -> LifecycleEvent? {
        while let delivery = try await events.next() {
            // Refusals of the retries while the lock was going back are not what is waited for.
            if case .lifecycle(let event) = delivery.record.value, event.rejectionCode == nil { return event }
        }
        return nil
    }

    /// 1 s of H.264 (25 frames, a keyframe first) as RTP packets, frame by frame.
    static func videoPackets(ssrc: UInt32) throws -> [[ByteBuffer]] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("whip-loop-\(UUID().uuidString).flv")
        defer { try? FileManager.default.removeItem(at: file) }
        try run(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "1", "-c:v", "libx264", "-preset", "ultrafast",
                 "-bf", "0", "-g", "25", "-f", "flv", file.path])
        let frames = try MediaFrame.frames(ofFLVFile: ByteBuffer(bytes: try Data(contentsOf: file)), sessionID: 1).filter { $0.kind == .video }
        guard let header = frames.first(where: \.isSequenceHeader) else { throw IngestError(.invalidConfiguration, "no sequence header in the fixture") }
        let configuration = try AVCConfiguration(record: header.payload.getSlice(at: header.payload.readerIndex + 5,
                                                                                 length: header.payload.readableBytes - 5)!)
        let parameterSets = [ByteBuffer(bytes: configuration.sequenceParameterSets[0]),
                             ByteBuffer(bytes: configuration.pictureParameterSets[0])]
        var sequence: UInt16 = 1000
        return frames.filter { !$0.isSequenceHeader && $0.payload.readableBytes > 5 }.map { frame in
            var data = frame.payload.getSlice(at: frame.payload.readerIndex + 5, length: frame.payload.readableBytes - 5)!
            var units: [ByteBuffer] = []
            while let length = data.readInteger(as: UInt32.self), let unit = data.readSlice(length: Int(length)) { units.append(unit) }
            let payloads = H264Packetizer().payloads(nalUnits: units, parameterSets: frame.isKeyframe ? parameterSets : [])
            return payloads.enumerated().map { number, payload in
                var packet = ByteBuffer()
                RTPPacket.write(marker: number == payloads.count - 1, payloadType: 102, sequenceNumber: sequence,
                                timestamp: UInt32(truncatingIfNeeded: 7_000 + frame.dts * 90), ssrc: ssrc, payload: payload, into: &packet)
                sequence &+= 1
                return packet
            }
        }
    }

    /// 1 s of a 440 Hz tone in Opus (20 ms packets) as RTP packets.
    static func audioPackets(ssrc: UInt32) throws -> [ByteBuffer] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("whip-loop-\(UUID().uuidString).ogg")
        defer { try? FileManager.default.removeItem(at: file) }
        try run(["-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-ac", "2", "-c:a", "libopus", "-frame_duration", "20",
                 "-f", "ogg", file.path])
        let packets = oggPackets(Array(try Data(contentsOf: file))).dropFirst(2)  // OpusHead, OpusTags
        return packets.enumerated().map { index, opus in
            var packet = ByteBuffer()
            RTPPacket.write(marker: index == 0, payloadType: 111, sequenceNumber: UInt16(truncatingIfNeeded: 500 + index),
                            timestamp: UInt32(truncatingIfNeeded: 90_000 + index * 960), ssrc: ssrc, payload: ByteBuffer(bytes: opus),
                            into: &packet)
            return packet
        }
    }

    /// Packets of an Ogg stream (RFC 3533 §6: lacing values below 255 end a packet).
    static func oggPackets(_ bytes: [UInt8]) -> [[UInt8]] {
        var packets: [[UInt8]] = []
        var current: [UInt8] = []
        var offset = 0
        while offset + 27 <= bytes.count, bytes[offset..<offset + 4].elementsEqual("OggS".utf8) {
            let segments = Int(bytes[offset + 26])
            var cursor = offset + 27 + segments
            guard cursor <= bytes.count else { break }
            for value in bytes[(offset + 27)..<(offset + 27 + segments)] {
                guard cursor + Int(value) <= bytes.count else { return packets }
                current += bytes[cursor..<cursor + Int(value)]
                cursor += Int(value)
                if value < 255 {
                    packets.append(current)
                    current = []
                }
            }
            offset = cursor
        }
        return packets
    }

    static func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        process.arguments = ["-hide_banner", "-loglevel", "error", "-y"] + arguments
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw IngestError(.invalidConfiguration, "ffmpeg failed") }
    }
}
