import Events
import Fanout
import Foundation
import Logging
import Media
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RTC
import SDP
import Testing
import TestSupport
import WebRTC
@testable import WebRTCMedia

/// WHEP end to end in one process: a `WebRTCServer` on loopback, a `FanoutHub` stream made by
/// ffmpeg, and `WebRTCClient` as the viewer (ICE, DTLS, SRTP for real).
@Suite(.timeLimit(.minutes(2)), .serialized) struct WHEPServiceTests {
    let stream = StreamID("whep-e2e")!
    let logger = Logger(label: "test")

    /// What a viewer received, decrypted.
    final class Received: Sendable {
        let packets = NIOLockedValueBox<[RTPPacket]>([])
        let reports = NIOLockedValueBox<[RTCPPacket]>([])

        func count(payloadType: UInt8) -> Int { packets.withLockedValue { $0.filter { $0.header.payloadType == payloadType }.count } }
        func all(payloadType: UInt8) -> [RTPPacket] { packets.withLockedValue { $0.filter { $0.header.payloadType == payloadType } } }
    }

    struct Setup {
        var server: WebRTCServer
        var port: Int
        var hub: FanoutHub
        var service: WHEPService
    }

    func withServer(idleTimeout: TimeAmount = .seconds(5), _ body: (Setup) async throws -> Void) async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let server = WebRTCServer(configuration: WebRTCConfiguration(host: "127.0.0.1", port: 0, advertisedAddress: "127.0.0.1"),
                                  certificate: try RTCCertificate.generate(), group: group, logger: logger)
        let port = try await server.start()
        let hub = FanoutHub(bus: EmbeddedEventBus(), logger: logger)
        let service = WHEPService(server: server, hub: hub, logger: logger, idleTimeout: idleTimeout)
        do {
            try await body(Setup(server: server, port: port, hub: hub, service: service))
        } catch {
            await server.shutdown()
            throw error
        }
        await server.shutdown()
    }

    func viewer(_ received: Received) throws -> WebRTCClient {
        WebRTCClient(group: MultiThreadedEventLoopGroup.singleton, certificate: try RTCCertificate.generate(),
                     options: .init(role: .whep, checkInterval: .milliseconds(50)),
                     onRTP: { packet in received.packets.withLockedValue { $0.append(packet) } },
                     onRTCP: { packets in received.reports.withLockedValue { $0 += packets } })
    }

    /// Waits (polling, at most `seconds`) until `condition` holds.
    func eventually(_ seconds: Double = 10, _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return await condition()
    }

    func rtcp(_ packet: RTCPPacket) -> ByteBuffer {
        var buffer = ByteBuffer()
        packet.write(into: &buffer)
        return buffer
    }

    /// The viewer session on the server side, on its loop.
    func serverViewer(_ setup: Setup, session: String) async throws -> WHEPViewer? {
        try await setup.server.eventLoop.submit {
            setup.service.source(of: stream)?.viewers.values.first { $0.sessionID == session }
        }.get()
    }

    /// Video sequence numbers missing between the first and the last `received` has.
    func missingVideo(_ received: Received) -> Set<UInt16> {
        let video = received.all(payloadType: 102)
        var unwrapper = SequenceUnwrapper()
        let sequences = Set(video.map { unwrapper.unwrap($0.header.sequenceNumber) })
        guard let low = sequences.min(), let high = sequences.max() else { return [] }
        return Set((low...high).filter { !sequences.contains($0) }.map { UInt16(truncatingIfNeeded: $0) })
    }

    @Test func viewersGetTheGOPAtOnceThenLiveAudioAndVideoAndRepairs() async throws {
        let frames = try WHEPFixtures.frames(seconds: 3, gop: 25)
        let keyframes = frames.indices.filter { frames[$0].kind == .video && frames[$0].isKeyframe && !frames[$0].isSequenceHeader }
        let secondKeyframe = try #require(keyframes.dropFirst().first)
        try await withServer { setup in
            // The stream's first second is live before the viewers come: its GOP is cached.
            for frame in frames[..<secondKeyframe] { setup.hub.handle(frame, of: stream) }
            let received = Received()
            let client = try viewer(received)
            let created = try await setup.service.play(stream: stream, rendition: "", offer: try WebRTCOffer(SessionDescription(parsing: client.offer)),
                                                       clientIP: "127.0.0.1").get()
            #expect(created.sessionID.count == 32)
            try await client.connect(answer: created.answer)
            // A second viewer behind a link that loses 5 % of datagrams each way.
            let lossy = Received()
            let lossyClient = try viewer(lossy)
            let lossyCreated = try await setup.service.play(stream: stream, rendition: "", offer: try WebRTCOffer(SessionDescription(parsing: lossyClient.offer)),
                                                            clientIP: "127.0.0.1").get()
            let relay = try UDPLossRelay(serverPort: setup.port, dropRate: 0.05, delay: 0.002, seed: 21, lifetime: 60)
            defer { relay.stop() }
            try await lossyClient.connect(answer: lossyCreated.answer.replacingOccurrences(of: " \(setup.port) typ host", with: " \(relay.port) typ host"))

            // The cached GOP comes at once: a keyframe decodes before anything more is published.
            #expect(await eventually { received.count(payloadType: 102) > 0 })
            #expect(keyframesDecodable(received) == 1)

            // Live: the rest of the stream, video and Opus audio 20 ms apart, one SSRC each for both viewers.
            for frame in frames[secondKeyframe...] {
                setup.hub.handle(frame, of: stream)
                try await Task.sleep(for: .milliseconds(4))  // about 4× real time: no viewer falls behind
            }
            // Two seconds of live audio: about 100 packets.
            #expect(await eventually { received.count(payloadType: 111) >= 80 })
            let audio = received.all(payloadType: 111)
            let steps = zip(audio, audio.dropFirst()).map { $1.header.timestamp &- $0.header.timestamp }
            #expect(steps.allSatisfy { $0 == 960 }, "audio timestamp steps \(Set(steps))")
            #expect(Set(audio.map(\.header.ssrc)).count == 1)
            #expect(missingVideo(received).isEmpty)
            let videoSSRC = try #require(received.all(payloadType: 102).first).header.ssrc
            #expect(lossy.all(payloadType: 102).allSatisfy { $0.header.ssrc == videoSSRC })
            try await Task.sleep(for: .milliseconds(300))

            let (gop, lostBefore) = try await expectRepairs(setup, direct: (client, created.sessionID), lossy: (lossyClient, lossy),
                                                            videoSSRC: videoSSRC)
            try await expectStatistics(setup, direct: (created.sessionID, received), lossySession: lossyCreated.sessionID,
                                       lostBefore: lostBefore, videoSSRC: videoSSRC, audioSSRC: audio[0].header.ssrc, gopCount: gop.count)

            // DELETE ends a viewer; the other plays on.
            #expect(await setup.service.end(stream: stream, session: created.sessionID))
            #expect(await eventually(2) { setup.service.viewers.map(\.session) == [lossyCreated.sessionID] })
            #expect(await setup.service.end(stream: stream, session: created.sessionID) == false)
            #expect(await setup.service.end(stream: StreamID("other")!, session: lossyCreated.sessionID) == false)
            await client.close()
            await lossyClient.close()
        }
    }

    /// Keyframes the received video depacketizes into.
    private func keyframesDecodable(_ received: Received) -> Int {
        var depacketizer = H264Depacketizer()
        var unwrapper = SequenceUnwrapper()
        var decodable = 0
        for packet in received.all(payloadType: 102) {
            if let unit = depacketizer.push(packet.payload, sequence: unwrapper.unwrap(packet.header.sequenceNumber),
                                            timestamp: packet.header.timestamp, marker: packet.header.marker), unit.isKeyframe {
                decodable += 1
            }
        }
        return decodable
    }

    /// PLI: the cached GOP again (what the lossy viewer lost of it comes), at most once per 500 ms;
    /// NACK: what it lost before the GOP. Returns the GOP's sequence numbers and what was lost before it.
    private func expectRepairs(_ setup: Setup, direct: (client: WebRTCClient, session: String),
                               lossy: (client: WebRTCClient, received: Received),
                               videoSSRC: UInt32) async throws -> (gop: Set<UInt16>, lostBefore: Set<UInt16>) {
        let gop = try await setup.server.eventLoop.submit { () -> Set<UInt16> in
            Set((setup.service.source(of: stream)?.gop ?? []).compactMap { try? RTPHeader(parsing: $0).sequenceNumber })
        }.get()
        #expect(gop.count > 10)
        let lostInGOP = missingVideo(lossy.received).intersection(gop)
        let lostBefore = missingVideo(lossy.received).subtracting(gop)
        #expect(!(lostInGOP.isEmpty && lostBefore.isEmpty), "the lossy link lost nothing")
        for _ in 0..<4 where !missingVideo(lossy.received).intersection(gop).isEmpty {
            lossy.client.sendRTCP(rtcp(.pli(senderSSRC: 1, mediaSSRC: videoSSRC)))
            try await Task.sleep(for: .milliseconds(600))
        }
        #expect(missingVideo(lossy.received).intersection(gop).isEmpty)
        direct.client.sendRTCP(rtcp(.pli(senderSSRC: 1, mediaSSRC: videoSSRC)))
        direct.client.sendRTCP(rtcp(.pli(senderSSRC: 1, mediaSSRC: videoSSRC)))
        #expect(await eventually(2) { (try? await serverViewer(setup, session: direct.session)?.keyframeResends) == 1 })
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await serverViewer(setup, session: direct.session)?.keyframeResends == 1)

        // NACK: what the lossy viewer lost before the GOP comes again, counted.
        for _ in 0..<4 where !missingVideo(lossy.received).isEmpty {
            lossy.client.sendRTCP(rtcp(.nack(RTCPNack(senderSSRC: 1, mediaSSRC: videoSSRC, lost: missingVideo(lossy.received).sorted()))))
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(missingVideo(lossy.received).isEmpty)
        return (gop, lostBefore)
    }

    /// Sender reports answered give an RTT; NACKs, PLIs and repairs counted (the board is brought
    /// up to date once a second); sender reports carry NTP now and the newest RTP time.
    private func expectStatistics(_ setup: Setup, direct: (session: String, received: Received), lossySession: String,
                                  lostBefore: Set<UInt16>, videoSSRC: UInt32, audioSSRC: UInt32, gopCount: Int) async throws {
        #expect(await eventually(5) {
            let viewers = setup.service.viewers
            let plain = viewers.first { $0.session == direct.session }
            let repaired = viewers.first { $0.session == lossySession }
            return plain?.rttMs != nil && plain?.plisReceived == 2 && (repaired?.retransmitted ?? 0) >= lostBefore.count
                && (repaired?.nacksReceived ?? 0) >= 1
        })
        let statistics = try #require(setup.service.viewers.first { $0.session == direct.session })
        #expect(statistics.stream == stream)
        #expect(statistics.role == .whep)
        #expect(statistics.clientIP == "127.0.0.1")
        #expect(statistics.retransmitted == 0)
        #expect(statistics.packetsSent > 100)
        #expect(statistics.connectedSeconds > 0)
        // Sender reports: NTP now, RTP time extrapolated from the newest packet (at or after it, by seconds at most).
        let reports = direct.received.reports.withLockedValue { $0.compactMap { if case .senderReport(let report) = $0 { report } else { nil } } }
        let videoReport = try #require(reports.last { $0.ssrc == videoSSRC })
        let newestVideo = try #require(direct.received.all(payloadType: 102).last).header.timestamp
        let ahead = Int32(bitPattern: videoReport.rtpTimestamp &- newestVideo)
        #expect(ahead >= 0 && ahead < 10 * 90_000, "sender report \(ahead) ticks after the newest packet")
        let wall = Int64(Date().timeIntervalSince1970 * 1e9)
        #expect(abs(NTPTime.unixNanoseconds(videoReport.ntpTime) - wall) < 5_000_000_000)
        #expect(reports.contains { $0.ssrc == audioSSRC })
        // (Sent counts the GOP sent again for its PLI, which its SRTP dropped as replays.)
        #expect(videoReport.packetCount > 0 && Int(videoReport.packetCount) <= direct.received.count(payloadType: 102) + gopCount)
    }

    @Test func aViewerGetsThePayloadTypesItNegotiated() async throws {
        let frames = try WHEPFixtures.frames(seconds: 2, gop: 25)
        try await withServer { setup in
            for frame in frames { setup.hub.handle(frame, of: stream) }
            let received = Received()
            let client = try viewer(received)
            // The client's own credentials, offered with other payload types than the source writes (102, 111).
            let own = try WebRTCOffer(SessionDescription(parsing: client.offer))
            let text = makeOffer(options: OfferOptions(iceUfrag: own.iceUfrag, icePwd: own.icePwd, fingerprint: own.fingerprint,
                                                       direction: .recvonly, videoPayloadType: 96, audioPayloadType: 109))
            let created = try await setup.service.play(stream: stream, rendition: "", offer: try WebRTCOffer(SessionDescription(parsing: text)),
                                                       clientIP: nil).get()
            try await client.connect(answer: created.answer)
            #expect(await eventually { received.count(payloadType: 96) > 10 })
            #expect(received.count(payloadType: 102) == 0)
            // Markers kept: each access unit's last packet has one, and the depacketizer finds every unit whole.
            let video = received.all(payloadType: 96)
            #expect(video.contains { $0.header.marker })
            var depacketizer = H264Depacketizer()
            var unwrapper = SequenceUnwrapper()
            var units = 0
            for packet in video {
                if depacketizer.push(packet.payload, sequence: unwrapper.unwrap(packet.header.sequenceNumber),
                                     timestamp: packet.header.timestamp, marker: packet.header.marker) != nil { units += 1 }
            }
            #expect(units == video.filter(\.header.marker).count)
            await client.close()
        }
    }

    @Test func aSourceWithoutViewersLetsTheFanoutGo() async throws {
        let frames = try WHEPFixtures.frames(seconds: 1, gop: 25)
        try await withServer(idleTimeout: .milliseconds(300)) { setup in
            for frame in frames { setup.hub.handle(frame, of: stream) }
            let client = try viewer(Received())
            let offer = try WebRTCOffer(SessionDescription(parsing: client.offer))
            let created = try await setup.service.play(stream: stream, rendition: "", offer: offer, clientIP: nil).get()
            let fanout = try #require(setup.hub.fanout(for: stream))
            #expect(fanout.viewersByProtocol["webrtc"] == 1)
            #expect(await setup.service.end(stream: stream, session: created.sessionID))
            #expect(await eventually(5) { fanout.viewersByProtocol["webrtc"] == nil })
            #expect(await eventually(2) { setup.service.sourceCount == 0 })
        }
    }

    @Test func theStreamsEndClosesItsViewers() async throws {
        let frames = try WHEPFixtures.frames(seconds: 1, gop: 25)
        try await withServer { setup in
            for frame in frames { setup.hub.handle(frame, of: stream) }
            let client = try viewer(Received())
            let offer = try WebRTCOffer(SessionDescription(parsing: client.offer))
            let created = try await setup.service.play(stream: stream, rendition: "", offer: offer, clientIP: nil).get()
            try await client.connect(answer: created.answer)
            let session = try #require(setup.server.session(id: created.sessionID))
            setup.hub.handle(MediaFrame(kind: .end, dts: 1000, sessionID: frames[0].sessionID, sequence: 10_000, payload: ByteBuffer()),
                             of: stream)
            #expect(await eventually(5) { setup.server.sessions.isEmpty && setup.service.viewers.isEmpty })
            #expect(session.closeReason == "stream ended")
            #expect(setup.service.sourceCount == 0)
            await client.close()
        }
    }

    /// `viewers.drop` (a channel's playback rules changed) ends the fan-out's viewers: WHEP
    /// sessions close too and must be admitted again; the stream plays on for new ones.
    @Test func droppingTheStreamsViewersClosesItsWHEPSessions() async throws {
        let frames = try WHEPFixtures.frames(seconds: 1, gop: 25)
        try await withServer { setup in
            for frame in frames { setup.hub.handle(frame, of: stream) }
            let client = try viewer(Received())
            let created = try await setup.service.play(stream: stream, rendition: "", offer: try WebRTCOffer(SessionDescription(parsing: client.offer)),
                                                       clientIP: nil).get()
            try await client.connect(answer: created.answer)
            #expect(await eventually(5) { setup.service.viewers.count == 1 })
            try #require(setup.hub.fanout(for: stream)).dropViewers()
            #expect(await eventually(5) { setup.server.sessions.isEmpty && setup.service.viewers.isEmpty })
            #expect(setup.hub.fanout(for: stream) != nil, "the stream itself goes on")
            await client.close()
        }
    }

    @Test func whatWebRTCCannotPlayIsRefused() async throws {
        let frames = try WHEPFixtures.frames(seconds: 1, gop: 25, bFrames: 2)
        try await withServer { setup in
            let client = try viewer(Received())
            let offer = try WebRTCOffer(SessionDescription(parsing: client.offer))
            let missing = await setup.service.play(stream: stream, rendition: "", offer: offer, clientIP: nil)
            #expect(missing.refusal?.kind == .notFound)

            for frame in frames { setup.hub.handle(frame, of: stream) }
            let refused = await setup.service.play(stream: stream, rendition: "", offer: offer, clientIP: nil)
            #expect(refused.refusal?.kind == .unsupported)
            #expect(refused.refusal?.reason.contains("B-frames") == true)
            #expect(refused.refusal?.reason.contains("-bf 0") == true)
            #expect(refused.refusal?.reason.contains("?rendition=") == true)
            #expect(setup.server.sessions.isEmpty)
        }
    }
}

extension Result where Failure == WebRTCRefusal {
    var refusal: WebRTCRefusal? {
        if case .failure(let refusal) = self { return refusal }
        return nil
    }
}
