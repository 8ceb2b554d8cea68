import CFFmpeg
import Events
import Media
import NIOCore
import Testing
@testable import WebRTCMedia

/// AAC made by ffmpeg, encoded to Opus by `AACToOpus`, decoded again by libavcodec's own Opus decoder.
@Suite(.timeLimit(.minutes(2))) struct AACToOpusTests {
    /// The audio frames of an ffmpeg-made FLV, and its AudioSpecificConfig.
    func audio(sampleRate: Int) throws -> (config: [UInt8], frames: [MediaFrame]) {
        let frames = try WHEPFixtures.frames(seconds: 2, sampleRate: sampleRate, video: false).filter { $0.kind == .audio }
        let header = try #require(frames.first { $0.isSequenceHeader })
        return (Array(header.payload.readableBytesView.dropFirst(2)), frames.filter { !$0.isSequenceHeader })
    }

    func encode(_ frames: [MediaFrame], with converter: AACToOpus, shift: Int64 = 0) throws -> [OpusPacket] {
        var packets: [OpusPacket] = []
        for frame in frames {
            var body = frame.payload
            body.moveReaderIndex(forwardBy: 2)
            packets += try body.withUnsafeReadableBytes { try converter.encode($0, ptsMs: frame.pts + shift) }
        }
        return packets
    }

    @Test(arguments: [44_100, 48_000], [20, 60])
    func packetsAreOneFrameLongWithContinuousTimestamps(sampleRate: Int, frameMilliseconds: Int) throws {
        let (config, frames) = try audio(sampleRate: sampleRate)
        let converter = try AACToOpus(codec: .aac, configuration: config, frameMilliseconds: frameMilliseconds)
        let packets = try encode(frames, with: converter)
        let frameSize = 48 * frameMilliseconds
        #expect(converter.frameSize == frameSize)
        // Every 20 (or 60) ms of the source's audio (1024 samples an AAC frame) is a packet; the
        // codecs' delays hold back at most a few.
        let expected = frames.count * 1024 * 48_000 / sampleRate / frameSize
        #expect(packets.count >= expected - 3 && packets.count <= expected, "\(packets.count) packets, \(expected) expected")
        for (previous, next) in zip(packets, packets.dropFirst()) { #expect(next.timestamp - previous.timestamp == Int64(frameSize)) }
        // Anchored to the AAC times: the first packet starts at the first frame's pts × 48,
        // less libopus's look-ahead (312 samples).
        let first = try #require(packets.first)
        #expect(abs(first.timestamp - frames[0].pts * 48) <= 960)
    }

    @Test(arguments: [20, 60])
    func libavcodecDecodesTheSineBack(frameMilliseconds: Int) throws {
        let (config, frames) = try audio(sampleRate: 44_100)
        let packets = try encode(frames, with: try AACToOpus(codec: .aac, configuration: config, frameMilliseconds: frameMilliseconds))
        let decoder = try CodecHandles.Context.decoder(AV_CODEC_ID_OPUS, timeBase: AVRational(num: 1, den: 48_000),
                                                       sampleRate: 48_000, channels: 2)
        let packet = try CodecHandles.Packet()
        let frame = try CodecHandles.Frame()
        var left: [Float] = []
        for opus in packets {
            try opus.data.withUnsafeBytes { try packet.fill($0, pts: opus.timestamp) }
            try decoder.decode(packet, into: frame) { (frame) throws(WebRTCMediaError) in
                #expect(frame.sampleCount == 48 * frameMilliseconds)
                #expect(frame.sampleRate == 48_000)
                #expect(frame.channelCount == 2)
                #expect(frame.pointer.pointee.format == AV_SAMPLE_FMT_FLTP.rawValue)
                let samples = frame.pointer.pointee.data.0!.withMemoryRebound(to: Float.self, capacity: frame.sampleCount) {
                    Array(UnsafeBufferPointer(start: $0, count: frame.sampleCount))
                }
                left += samples
            }
        }
        // One second from the middle: a 440 Hz sine crosses zero 880 times a second.
        let second = Array(left.dropFirst(24_000).prefix(48_000))
        #expect(second.count == 48_000)
        let crossings = zip(second, second.dropFirst()).filter { ($0 < 0) != ($1 < 0) }.count
        #expect(abs(crossings - 880) <= 20, "zero crossings \(crossings)")
        let rms = (second.reduce(0) { $0 + $1 * $1 } / Float(second.count)).squareRoot()
        #expect(rms > 0.05, "rms \(rms)")
    }

    @Test func aJumpInTheSourceTimesStartsTheAnchoringAgain() throws {
        let (config, frames) = try audio(sampleRate: 48_000)
        let converter = try AACToOpus(codec: .aac, configuration: config)
        let half = frames.count / 2
        let before = try encode(Array(frames.prefix(half)), with: converter)
        let after = try encode(Array(frames.dropFirst(half)), with: converter, shift: 10_000)
        let all = before + after
        let steps = zip(all, all.dropFirst()).map { $1.timestamp - $0.timestamp }
        // One step of ten seconds (give or take the samples held in the codecs), every other 20 ms.
        let jumps = steps.filter { $0 != 960 }
        #expect(jumps.count == 1, "steps \(jumps)")
        #expect(abs((jumps.first ?? 0) - 10_000 * 48) <= 3 * 960, "jump \(jumps)")
    }
}
