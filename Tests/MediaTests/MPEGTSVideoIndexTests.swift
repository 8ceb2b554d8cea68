@testable import Media
import NIOCore
import TestSupport
import Testing

@Suite struct MPEGTSVideoIndexTests {
    /// PAT/PMT, a keyframe, audio, a delta frame, audio, a keyframe, as `MPEGTSMuxer` writes them.
    static func stream(keyframeSize: Int = 1000) -> (ts: ByteBuffer, videoStarts: [Int]) {
        var muxer = MPEGTSMuxer(video: .h264, hasAudio: true)
        var buffer = ByteBuffer()
        muxer.writeTables(into: &buffer)
        var starts: [Int] = []
        let frames: [(size: Int, key: Bool, dts: Int64)] = [(keyframeSize, true, 9_000), (300, false, 12_000), (keyframeSize, true, 15_000)]
        for frame in frames {
            starts.append(buffer.writerIndex)
            muxer.writeVideo(ByteBuffer(bytes: [UInt8](repeating: 7, count: frame.size)), pts: frame.dts + 3_000, dts: frame.dts,
                             isKeyframe: frame.key, into: &buffer)
            muxer.writeAudio(ByteBuffer(bytes: [1, 2, 3]), pts: frame.dts, into: &buffer)
        }
        return (buffer, starts)
    }

    @Test func findsEveryVideoPESWithItsPacketsAndTimes() throws {
        let (ts, starts) = Self.stream()
        let units = MPEGTSVideoIndex.units(in: ts)
        #expect(units.map(\.offset) == starts)
        #expect(units.map(\.isRandomAccess) == [true, false, true])
        #expect(units.map(\.dts) == [9_000, 12_000, 15_000] && units.map(\.pts) == [12_000, 15_000, 18_000])
        // 1000 bytes and a 19-byte PES header need 6 packets; 300 need 2. The audio after each is not in it.
        #expect(units.map(\.length) == [6 * 188, 2 * 188, 6 * 188])
        #expect(units.allSatisfy { $0.offset % 188 == 0 })
        let found = try #require(MPEGTSVideoIndex.firstKeyframe(in: ts))
        #expect(found.first == units[0] && found.keyframe == units[0])
    }

    @Test func timestampDifferencesCrossTheWrap() {
        #expect(MPEGTSVideoIndex.ticks(from: (1 << 33) - 10, to: 5) == 15)
        #expect(MPEGTSVideoIndex.ticks(from: 100, to: 190) == 90)
    }

    @Test func anyBytesGiveUnitsInsideThemOrNone() {
        var random = SeededGenerator(seed: 22)
        let (ts, _) = Self.stream()
        let whole = Array(ts.readableBytesView)
        for round in 0..<300 {
            var bytes = Array(whole.prefix(Int.random(in: 0...whole.count, using: &random)))
            for _ in 0..<(round % 20) where !bytes.isEmpty {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            let units = MPEGTSVideoIndex.units(in: ByteBuffer(bytes: bytes))
            #expect(units.allSatisfy { $0.offset >= 0 && $0.length > 0 && $0.end <= bytes.count })
        }
        let noise = (0..<(188 * 40)).map { _ in UInt8.random(in: 0...255, using: &random) }
        #expect(MPEGTSVideoIndex.units(in: ByteBuffer(bytes: noise)).allSatisfy { $0.end <= noise.count })
    }
}
