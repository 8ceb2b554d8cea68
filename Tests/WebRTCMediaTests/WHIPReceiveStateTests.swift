import Events
import Foundation
import Media
import NIOCore
import RTC
import TestSupport
import Testing
@testable import WebRTCMedia

/// A WHIP publisher's video through the receiver's state machine: a real H.264 stream (ffmpeg,
/// libx264 without B-frames, a keyframe a second, in FLV) cut into RTP with `H264Packetizer` as
/// a sender would (sequence numbers and timestamps wrapping), delivered on a virtual clock with a
/// reordered packet and a lost one. The FLV tags out must be the source's: the sequence header's
/// parameter sets, every frame's NAL units and keyframe flag and its time; except the frames
/// from the loss to the next keyframe, which no decoder could use. The lost packet is NACKed,
/// a PLI goes out at the start and after the loss (not more than once a second).
@Suite(.timeLimit(.minutes(1))) struct WHIPReceiveStateTests {
    static let videoSSRC: UInt32 = 0x1234_5678
    static let localSSRC: UInt32 = 0x0BAD_CAFE

    /// A source video frame: FLV tag body and dts (ms).
    struct SourceFrame {
        var body: ByteBuffer
        var dts: Int64
        var isKeyframe: Bool
        var nalUnits: [ByteBuffer]
    }

    /// One RTP packet of the source, when it arrives on the virtual clock.
    struct Delivery {
        var arrivalMs: Int64
        var packet: RTPPacket
        var frame: Int
    }

    static func source(seconds: Int = 4, size: String = "320x240", gop: Int = 25) throws -> (configuration: AVCConfiguration, frames: [SourceFrame]) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("whip-h264-\(UUID().uuidString).flv")
        defer { try? FileManager.default.removeItem(at: file) }
        try OpusToAACTests.run("/usr/bin/ffmpeg", [
            "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=\(size):rate=25", "-t", "\(seconds)",
            "-c:v", "libx264", "-preset", "ultrafast", "-bf", "0", "-g", "\(gop)", "-keyint_min", "\(gop)", "-sc_threshold", "0",
            "-f", "flv", file.path,
        ])
        let frames = try MediaFrame.frames(ofFLVFile: ByteBuffer(bytes: try Data(contentsOf: file)), sessionID: 1)
            .filter { $0.kind == .video }
        guard let header = frames.first(where: \.isSequenceHeader) else { throw WebRTCMediaError("no sequence header") }
        let configuration = try AVCConfiguration(record: header.payload.getSlice(at: header.payload.readerIndex + 5,
                                                                                 length: header.payload.readableBytes - 5)!)
        // Pictures only: not the sequence header, nor the end-of-sequence tag (AVC packet type 2) FLV ends with.
        let pictures = frames.filter { !$0.isSequenceHeader }.map { frame in
            SourceFrame(body: frame.payload, dts: frame.dts, isKeyframe: frame.isKeyframe, nalUnits: Self.nalUnits(of: frame.payload))
        }.filter { !$0.nalUnits.isEmpty }
        return (configuration, pictures)
    }

    /// The NAL units of an AVCC frame body (after the 5-byte FLV video header, 4-byte lengths).
    static func nalUnits(of body: ByteBuffer) -> [ByteBuffer] {
        var data = body.getSlice(at: body.readerIndex + 5, length: body.readableBytes - 5) ?? ByteBuffer()
        var units: [ByteBuffer] = []
        while let length = data.readInteger(as: UInt32.self), let unit = data.readSlice(length: Int(length)) { units.append(unit) }
        return units
    }

    /// The source as RTP: frame i sent at 40·i ms, sequence numbers from 65 500 and timestamps
    /// from 2^32 − 90 000 so both wrap.
    static func packets(_ configuration: AVCConfiguration, _ frames: [SourceFrame]) -> [Delivery] {
        let packetizer = H264Packetizer()
        var sequence: UInt16 = 65_500
        var deliveries: [Delivery] = []
        let parameterSets = [ByteBuffer(bytes: configuration.sequenceParameterSets[0]),
                             ByteBuffer(bytes: configuration.pictureParameterSets[0])]
        for (index, frame) in frames.enumerated() {
            let payloads = packetizer.payloads(nalUnits: frame.nalUnits, parameterSets: frame.isKeyframe ? parameterSets : [])
            let timestamp = UInt32(truncatingIfNeeded: Int64(UInt32.max) - 90_000 + frame.dts * 90)
            for (number, payload) in payloads.enumerated() {
                var buffer = ByteBuffer()
                RTPPacket.write(marker: number == payloads.count - 1, payloadType: 102, sequenceNumber: sequence,
                                timestamp: timestamp, ssrc: videoSSRC, payload: payload, into: &buffer)
                sequence &+= 1
                deliveries.append(Delivery(arrivalMs: Int64(index) * 40, packet: try! RTPPacket(parsing: buffer), frame: index))
            }
        }
        return deliveries
    }

    /// Runs `deliveries` through a receiver on a 10 ms virtual clock (a tick every 20 ms, a
    /// report every second) and returns what it did.
    static func receive(_ deliveries: [Delivery], endMs: Int64) -> [WHIPReceiveState.Action] {
        var state = WHIPReceiveState(video: .init(payloadType: 102, remoteSSRC: videoSSRC, nack: true, pli: true), audio: nil,
                                     localSSRC: localSSRC)
        var actions = state.connected(nowMs: 0)
        var pending = deliveries.sorted { $0.arrivalMs < $1.arrivalMs }[...]
        for now in stride(from: Int64(0), through: endMs, by: 10) {
            while let next = pending.first, next.arrivalMs <= now {
                actions += state.received(next.packet, nowMs: now)
                pending = pending.dropFirst()
            }
            if now % 20 == 0 { actions += state.tick(nowMs: now) }
            if now % 1000 == 0 { actions += state.report(nowMs: now) }
        }
        return actions
    }

    static func rtcp(_ actions: [WHIPReceiveState.Action]) -> [RTCPPacket] {
        actions.flatMap { action -> [RTCPPacket] in
            guard case .sendRTCP(let buffer) = action else { return [] }
            return (try? RTCPPacket.parseCompound(buffer)) ?? []
        }
    }

    static func video(_ actions: [WHIPReceiveState.Action]) -> [(body: ByteBuffer, dts: Int64)] {
        actions.compactMap { action in
            guard case .video(let body, let dts) = action else { return nil }
            return (body, dts)
        }
    }

    /// Checks the tags against the source frames `expected` (by index): one sequence header with
    /// the source's parameter sets first, then each frame's units, keyframe flag and relative time.
    static func expectTags(_ tags: [(body: ByteBuffer, dts: Int64)], are expected: [Int], of source: [SourceFrame],
                           configuration: AVCConfiguration) throws {
        try #require(tags.count == expected.count + 1)
        let header = tags[0].body
        #expect(header.getBytes(at: header.readerIndex, length: 2) == [0x17, 0x00])
        let record = try AVCConfiguration(record: header.getSlice(at: header.readerIndex + 5, length: header.readableBytes - 5)!)
        #expect(record.sequenceParameterSets == configuration.sequenceParameterSets)
        #expect(record.pictureParameterSets == configuration.pictureParameterSets)
        #expect(record.nalLengthSize == 4)
        let first = tags[1].dts - source[expected[0]].dts
        for (tag, index) in zip(tags.dropFirst(), expected) {
            let frame = source[index]
            let kept = frame.nalUnits.filter { ![7, 8, 9, 12].contains(($0.getInteger(at: $0.readerIndex, as: UInt8.self) ?? 0) & 0x1F) }
            #expect(nalUnits(of: tag.body) == kept, "frame \(index)")
            #expect((tag.body.getInteger(at: tag.body.readerIndex, as: UInt8.self) == 0x17) == frame.isKeyframe, "frame \(index)")
            #expect(tag.body.getBytes(at: tag.body.readerIndex + 1, length: 4) == [1, 0, 0, 0], "frame \(index): cts 0")
            #expect(tag.dts - frame.dts == first, "frame \(index): dts")
        }
    }

    @Test func aCleanStreamComesOutAsTheSourceTags() throws {
        let (configuration, frames) = try Self.source(seconds: 2)
        let actions = Self.receive(Self.packets(configuration, frames), endMs: 2500)
        try Self.expectTags(Self.video(actions), are: Array(frames.indices), of: frames, configuration: configuration)
        let feedback = Self.rtcp(actions)
        #expect(!feedback.contains { if case .nack = $0 { return true } else { return false } })
        #expect(feedback.filter { if case .pli = $0 { return true } else { return false } }.count == 1)
    }

    @Test func reorderedPacketsAreReorderedAndALossIsNackedThenRecoveredAtTheNextKeyframe() throws {
        let (configuration, frames) = try Self.source(seconds: 4)
        var deliveries = Self.packets(configuration, frames)
        // The last packet of frame 3 arrives after frame 4's first: put back in order.
        let late = try #require(deliveries.lastIndex { $0.frame == 3 })
        deliveries[late].arrivalMs = 4 * 40 + 5
        // A packet of frame 35 (GOP 2, after more than a second) never arrives.
        let lost = try #require(deliveries.firstIndex { $0.frame == 35 })
        let lostSequence = deliveries[lost].packet.header.sequenceNumber
        deliveries.remove(at: lost)

        let actions = Self.receive(deliveries, endMs: 4500)
        let expected = frames.indices.filter { $0 < 35 || $0 >= 50 }
        #expect(frames[50].isKeyframe)
        try Self.expectTags(Self.video(actions), are: expected, of: frames, configuration: configuration)

        let feedback = Self.rtcp(actions)
        let nacked = feedback.flatMap { packet -> [UInt16] in
            guard case .nack(let nack) = packet else { return [] }
            #expect(nack.mediaSSRC == Self.videoSSRC && nack.senderSSRC == Self.localSSRC)
            return nack.lost
        }
        #expect(nacked.contains(lostSequence))
        #expect(nacked.filter { $0 == lostSequence }.count <= 3)
        let plis = feedback.filter { if case .pli(Self.localSSRC, Self.videoSSRC) = $0 { return true } else { return false } }
        #expect(plis.count == 2)  // at the start, and once after the loss
        let lastReport = feedback.last { if case .receiverReport = $0 { return true } else { return false } }
        guard case .receiverReport(let report)? = lastReport else { Issue.record("no receiver report"); return }
        #expect(report.ssrc == Self.localSSRC)
        #expect(report.reports.first?.ssrc == Self.videoSSRC)
        #expect(report.reports.first?.cumulativeLost == 1)
    }

    /// A browser's encoder keys only when asked: with one keyframe in 5 s, a PLI goes out once the
    /// last keyframe is 2 s old, then at most once a second while none comes.
    @Test func aPublisherThatNeverKeysIsAskedEveryTwoSeconds() throws {
        let (configuration, frames) = try Self.source(seconds: 5, gop: 250)
        #expect(frames.filter(\.isKeyframe).count == 1)
        var state = WHIPReceiveState(video: .init(payloadType: 102, remoteSSRC: Self.videoSSRC, nack: true, pli: true), audio: nil,
                                     localSSRC: Self.localSSRC)
        var pliTimes: [Int64] = []
        func note(_ actions: [WHIPReceiveState.Action], at now: Int64) {
            let plis = Self.rtcp(actions).filter { if case .pli = $0 { return true } else { return false } }
            pliTimes += plis.map { _ in now }
        }
        note(state.connected(nowMs: 0), at: 0)
        var pending = Self.packets(configuration, frames)[...]
        for now in stride(from: Int64(0), through: 4500, by: 10) {
            while let next = pending.first, next.arrivalMs <= now {
                note(state.received(next.packet, nowMs: now), at: now)
                pending = pending.dropFirst()
            }
            if now % 20 == 0 { note(state.tick(nowMs: now), at: now) }
        }
        #expect(pliTimes.first == 0)  // at the start
        let asked = pliTimes.dropFirst()
        #expect(asked.count == 3, "PLIs at \(pliTimes)")  // about 2 s, 3 s and 4 s
        #expect(asked.allSatisfy { $0 >= 2000 }, "PLIs at \(pliTimes)")
        #expect(zip(asked, asked.dropFirst()).allSatisfy { $1 - $0 >= WHIPReceiveState.pliIntervalMs })
    }

    @Test func otherPayloadTypesAndSSRCsAreNotMedia() throws {
        let (configuration, frames) = try Self.source(seconds: 1)
        var deliveries = Self.packets(configuration, frames)
        for index in deliveries.indices where index % 7 == 3 {
            var stranger = deliveries[index]
            stranger.packet.header.ssrc = 0xDEAD_BEEF
            deliveries.append(stranger)
            var unknown = deliveries[index]
            unknown.packet.header.payloadType = 96
            deliveries.append(unknown)
        }
        let actions = Self.receive(deliveries, endMs: 1500)
        try Self.expectTags(Self.video(actions), are: Array(frames.indices), of: frames, configuration: configuration)
    }

    /// Seeded hostile input: random payloads, sequence numbers, timestamps, markers, SSRCs and
    /// sender reports on both tracks. Whatever arrives: no trap, no hang, and every dts handed
    /// out stays inside the frame time range and never goes backwards per track.
    @Test func hostilePacketsNeitherTrapNorSendTimeBackwards() throws {
        var generator = SeededGenerator(seed: 0x5748_4950)
        var state = WHIPReceiveState(video: .init(payloadType: 102, remoteSSRC: nil, nack: true, pli: true),
                                     audio: .init(payloadType: 111, remoteSSRC: nil, nack: true, pli: false), localSSRC: 1)
        var lastVideo = Int64.min
        var lastAudio = Int64.min
        var nowMs: Int64 = 0
        for step in 0..<20_000 {
            nowMs += Int64.random(in: 0...3, using: &generator)
            let payload = (0..<Int.random(in: 0...40, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var buffer = ByteBuffer()
            RTPPacket.write(marker: Bool.random(using: &generator), payloadType: [102, 111, 96].randomElement(using: &generator)!,
                            sequenceNumber: UInt16.random(in: 0...20, using: &generator) &* UInt16(step % 3000),
                            timestamp: UInt32.random(in: 0...UInt32.max, using: &generator),
                            ssrc: UInt32.random(in: 1...3, using: &generator), payload: ByteBuffer(bytes: payload), into: &buffer)
            var actions = state.received(try RTPPacket(parsing: buffer), nowMs: nowMs)
            if step % 50 == 0 {
                state.received([.senderReport(RTCPSenderReport(
                    ssrc: UInt32.random(in: 1...3, using: &generator), ntpTime: UInt64.random(in: 0...UInt64.max, using: &generator),
                    rtpTimestamp: UInt32.random(in: 0...UInt32.max, using: &generator), packetCount: 0, octetCount: 0, reports: []))],
                               nowMs: nowMs)
            }
            if step % 7 == 0 { actions += state.tick(nowMs: nowMs) + state.report(nowMs: nowMs) }
            for action in actions {
                switch action {
                case .video(_, let dts):
                    #expect(MediaFrame.timeRange.contains(dts) && dts >= lastVideo)
                    lastVideo = dts
                case .opus(_, _, let packetMs):
                    #expect(MediaFrame.timeRange.contains(packetMs) && packetMs >= lastAudio)
                    lastAudio = packetMs
                case .sendRTCP(let packet):
                    #expect(throws: Never.self) { try RTCPPacket.parseCompound(packet) }
                }
            }
        }
        #expect(state.foreignPackets > 0)
    }
}
