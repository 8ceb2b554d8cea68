@testable import Media
import NIOCore
import Testing

/// `ADTSReader`, which the demuxer runs over AAC PES payloads: frames that straddle two PES
/// packets, times in 1024-sample steps, headers with CRC, and bytes that are not ADTS.
@Suite struct MPEGTSDemuxerADTSTests {
    /// 48 kHz stereo AAC-LC: 1920 ticks of 90 kHz per frame.
    static let config = try! AACConfiguration(bytes: ByteBuffer(bytes: [0x11, 0x90]))

    static func frame(_ fill: UInt8, size: Int) -> [UInt8] {
        config.adtsHeader(payloadLength: size) + [UInt8](repeating: fill, count: size)
    }

    @Test func aFrameCutByThePESBoundaryKeepsItsOwnTime() {
        let frames = (1...5).map { Self.frame(UInt8($0), size: 100) }
        let bytes = frames.flatMap { $0 }
        // The first PES ends 50 bytes into frame 3; the second carries the rest of it, 4 and 5.
        let cut = 2 * 107 + 50
        var reader = ADTSReader()
        let first = reader.frames(in: ByteBuffer(bytes: bytes[..<cut]), time: 90_000)
        let second = reader.frames(in: ByteBuffer(bytes: bytes[cut...]), time: 90_000 + 3 * 1920 + 7)
        #expect(first.map(\.time) == [90_000, 91_920])
        #expect(second.map(\.time) == [93_840, 95_767, 97_687])
        #expect((first + second).map { $0.raw.getInteger(at: 0, as: UInt8.self) } == [1, 2, 3, 4, 5])
        #expect((first + second).allSatisfy { $0.raw.readableBytes == 100 && $0.config == [0x11, 0x90] })
        #expect(reader.skippedBytes == 0)
    }

    @Test func headersWithCRCAndGarbageBetweenFrames() {
        var protected = Self.frame(9, size: 20)
        protected[1] &= 0xFE  // protection_absent = 0: a 2-byte CRC follows the header
        let length = 7 + 20  // the same bytes: 9 of header and CRC, 18 of payload
        protected[3] = protected[3] & 0xFC | UInt8(length >> 11)
        protected[4] = UInt8(length >> 3 & 0xFF)
        protected[5] = UInt8(length & 0x07) << 5 | protected[5] & 0x1F
        protected.insert(contentsOf: [0xAB, 0xCD], at: 7)
        protected.removeLast(2)
        let bytes = [0x00, 0xFF, 0x12] + protected + [0x47, 0x47] + Self.frame(8, size: 10)
        var reader = ADTSReader()
        let frames = reader.frames(in: ByteBuffer(bytes: bytes), time: 0)
        #expect(frames.map(\.raw.readableBytes) == [18, 10])
        #expect(frames.map(\.time) == [0, 1920])
        #expect(reader.skippedBytes == 5)
    }

    @Test func aResetForgetsTheUnfinishedFrame() {
        let bytes = Self.frame(1, size: 100) + Self.frame(2, size: 100)
        var reader = ADTSReader()
        #expect(reader.frames(in: ByteBuffer(bytes: bytes[..<150]), time: 0).count == 1)
        reader.reset()
        let after = reader.frames(in: ByteBuffer(bytes: Self.frame(3, size: 10)), time: 5000)
        #expect(after.map(\.time) == [5000])
        #expect(after.first?.raw.getInteger(at: 0, as: UInt8.self) == 3)
    }
}
