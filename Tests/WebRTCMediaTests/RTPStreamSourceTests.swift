import Events
import Fanout
import Logging
import Media
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RTC
import Testing
@testable import WebRTCMedia

/// H.264 made by ffmpeg, packetized by `RTPStreamSource` and depacketized again by RTC's
/// `H264Depacketizer`: the same NAL units, at pts × 90.
@Suite(.timeLimit(.minutes(2))) struct RTPStreamSourceTests {
    let stream = StreamID("whep-source")!

    /// The packets a source made of `frames`, handed to it as the fan-out would.
    func packets(of frames: [MediaFrame]) async throws -> (source: RTPStreamSource, packets: [(ByteBuffer, RTPStreamSource.Track)]) {
        let hub = FanoutHub(bus: EmbeddedEventBus(), logger: Logger(label: "test"))
        hub.handle(frames[0], of: stream)
        let fanout = try #require(hub.fanout(for: stream))
        let source = RTPStreamSource(stream: stream, rendition: "", eventLoop: MultiThreadedEventLoopGroup.singleton.next(), fanout: fanout,
                                     board: ViewerStatisticsBoard(), logger: Logger(label: "test")) { _ in }
        let made = NIOLockedValueBox<[(ByteBuffer, RTPStreamSource.Track)]>([])
        try await source.eventLoop.submit {
            source.monitor = { packet, track in made.withLockedValue { $0.append((packet, track)) } }
            for (index, frame) in frames.enumerated() {
                source.deliver(PreparedFrame(frame, sequence: UInt64(index + 1), isRandomAccess: frame.isKeyframe))
            }
        }.get()
        return (source, made.withLockedValue { $0 })
    }

    /// NAL units of each coded video frame, as the FLV carries them (less delimiters and filler).
    func nalUnits(of frames: [MediaFrame]) throws -> [(frame: MediaFrame, units: [[UInt8]])] {
        try frames.filter { $0.kind == .video && !$0.isSequenceHeader }.compactMap { frame in
            let info = try VideoTagInfo(body: frame.payload)
            guard info.isCodedFrame else { return nil }
            var data = frame.payload
            data.moveReaderIndex(forwardBy: info.dataOffset)
            let units = try AVCCNALUnits.split(data, lengthSize: 4).map { Array($0.readableBytesView) }
                .filter { ![0, 9, 12].contains($0[0] & 0x1F) }
            return (frame, units)
        }
    }

    @Test func depacketizesToTheSameNALUnits() async throws {
        let frames = try WHEPFixtures.frames(seconds: 2, gop: 25)
        let (source, packets) = try await packets(of: frames)
        let expected = try nalUnits(of: frames)
        let config = try AVCConfiguration(record: {
            var body = frames.first { $0.kind == .video && $0.isSequenceHeader }!.payload
            body.moveReaderIndex(forwardBy: 5)
            return body
        }())

        var depacketizer = H264Depacketizer()
        var unwrapper = SequenceUnwrapper()
        var units: [H264AccessUnit] = []
        var previousSequence: UInt16?
        for (packet, track) in packets where track == .video {
            let rtp = try RTPPacket(parsing: packet)
            #expect(rtp.header.ssrc == source.videoSSRC)
            #expect(rtp.header.payloadType == RTPStreamSource.videoPayloadType)
            #expect(rtp.payload.readableBytes <= 1188)
            if let previousSequence { #expect(rtp.header.sequenceNumber == previousSequence &+ 1) }
            previousSequence = rtp.header.sequenceNumber
            let sequence = unwrapper.unwrap(rtp.header.sequenceNumber)
            if let unit = depacketizer.push(rtp.payload, sequence: sequence, timestamp: rtp.header.timestamp, marker: rtp.header.marker) {
                units.append(unit)
            }
            while let unit = depacketizer.nextReady() { units.append(unit) }
        }
        #expect(expected.count == 50)
        try #require(units.count == expected.count)
        let start = try #require(units.first).timestamp
        for (unit, (frame, nals)) in zip(units, expected) {
            let received = unit.nalUnits.map { Array($0.readableBytesView) }.filter { ![7, 8].contains($0[0] & 0x1F) }
            #expect(received == nals)
            #expect(unit.isKeyframe == frame.isKeyframe)
            #expect(unit.timestamp &- start == UInt32((frame.pts - expected[0].frame.pts) * 90))
            if frame.isKeyframe {
                // Each IDR is preceded by the sequence header's SPS and PPS (a STAP-A).
                #expect(unit.sps.map { Array($0.readableBytesView) } == config.sequenceParameterSets.first)
                #expect(unit.pps.map { Array($0.readableBytesView) } == config.pictureParameterSets.first)
            }
        }
        // The last GOP is kept for joining viewers: its first packet is the STAP-A of the last keyframe.
        let gop = try await source.eventLoop.submit { source.gop }.get()
        let first = try RTPPacket(parsing: try #require(gop.first))
        #expect(first.payload.getInteger(at: first.payload.readerIndex, as: UInt8.self).map { $0 & 0x1F } == 24)
        #expect(gop.count < packets.filter { $0.1 == .video }.count)
    }

    @Test func anNACKedPacketIsKept() async throws {
        let frames = try WHEPFixtures.frames(seconds: 1, gop: 25)
        let (source, packets) = try await packets(of: frames)
        let (last, _) = try #require(packets.last { $0.1 == .video })
        let header = try RTPHeader(parsing: last)
        let kept = try await source.eventLoop.submit { source.retransmission(ssrc: header.ssrc, sequence: header.sequenceNumber) }.get()
        #expect(kept?.0 == last)
        let unknown = try await source.eventLoop.submit { source.retransmission(ssrc: header.ssrc &+ 1, sequence: header.sequenceNumber) }.get()
        #expect(unknown == nil)
    }

    @Test func bFramesAndHEVCAreRefusedWithAReason() async throws {
        let withB = try WHEPFixtures.frames(seconds: 1, gop: 25, bFrames: 2)
        let (source, _) = try await packets(of: withB)
        let refusal = try await source.eventLoop.submit { source.refusal(renditions: ["720p", "360p"]) }.get()
        #expect(refusal?.kind == .unsupported)
        #expect(refusal?.reason.contains("-bf 0") == true)
        #expect(refusal?.reason.contains("?rendition=720p") == true)

        let plain = try WHEPFixtures.frames(seconds: 1, gop: 25)
        let (plainSource, _) = try await packets(of: plain)
        #expect(try await plainSource.eventLoop.submit { plainSource.refusal(renditions: []) }.get() == nil)

        // An enhanced-RTMP HEVC sequence start (FourCC hvc1): refused whatever its record says.
        let hevc = ByteBuffer(bytes: [0x90] + Array("hvc1".utf8) + [1, 2, 3, 4])
        let header = try #require(MediaFrame(tag: .video, body: hevc, dts: 0, sessionID: 1, sequence: 0))
        let (hevcSource, _) = try await packets(of: [header])
        let hevcRefusal = try await hevcSource.eventLoop.submit { hevcSource.refusal(renditions: []) }.get()
        #expect(hevcRefusal?.kind == .unsupported)
        #expect(hevcRefusal?.reason.contains("HEVC") == true)
    }
}
