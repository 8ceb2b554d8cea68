import NIOCore
import NIOEmbedded
import NIOTestUtils
import TestSupport
import Testing
@testable import RTMP

/// Hostile chunk streams (RTMP specification 1.0 §5.3, §5.4): the per-connection memory cap
/// holds whatever order Abort, Set Chunk Size and partial messages arrive in, and no header
/// field drives the decoder into an overflow trap.
@Suite struct ChunkDecoderLimitTests {
    /// A type-0 chunk header on chunk stream `csid` (< 64) for a message of `length` bytes.
    static func header(csid: UInt8, length: Int, type: UInt8, timestamp: UInt32 = 0, stream: UInt32 = 0) -> [UInt8] {
        [csid, UInt8(timestamp >> 16 & 0xFF), UInt8(timestamp >> 8 & 0xFF), UInt8(timestamp & 0xFF),
         UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type,
         UInt8(stream & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 24)]
    }

    /// An Abort message (type 2) on chunk stream 2, `length` bytes long (the first four name chunk
    /// stream 2 itself), split into 128-byte chunks, so that it completes a partial message on the
    /// very chunk stream it aborts.
    static func selfAbort(length: Int) -> [UInt8] {
        let payload = [0, 0, 0, 2] + [UInt8](repeating: 0, count: length - 4)
        var bytes = header(csid: 2, length: length, type: 2)
        for start in stride(from: 0, to: length, by: 128) {
            if start > 0 { bytes.append(0xC2) }
            bytes += payload[start..<min(start + 128, length)]
        }
        return bytes
    }

    func channel(_ limits: ChunkDecoder.Limits) -> EmbeddedChannel {
        EmbeddedChannel(handler: ByteToMessageHandler(ChunkDecoder(limits: limits)))
    }

    /// Regression: each self-aborting Abort released its partial bytes twice, driving the
    /// counter negative and lifting `maxBufferedBytes` for everything sent after.
    @Test func abortsCannotLiftTheBufferCap() throws {
        let limits = ChunkDecoder.Limits(maxMessageSize: 4096, maxChunkStreams: 64, maxBufferedBytes: 8192)
        let channel = channel(limits)
        defer { _ = try? channel.finish() }
        for _ in 0..<64 { try channel.writeInbound(ByteBuffer(bytes: Self.selfAbort(length: 4096))) }
        while try channel.readInbound(as: ChunkDecoderOutput.self) != nil {}
        // Now 3 partial messages, each 31 of its 32 chunks, on chunk streams 10…12: 11,904 bytes held.
        let error = #expect(throws: RTMPError.self) {
            for csid in UInt8(10)...12 {
                var bytes = Self.header(csid: csid, length: 4096, type: 9, stream: 1) + [UInt8](repeating: 7, count: 128)
                for _ in 1..<32 { bytes += [0xC0 | csid] + [UInt8](repeating: 7, count: 128) }
                try channel.writeInbound(ByteBuffer(bytes: Array(bytes.prefix(12 + 128 + 30 * 129))))
            }
        }
        #expect(error?.code == .bufferLimitExceeded)
    }

    @Test func selfAbortsStillDecodeByteByByte() throws {
        let abort = ByteBuffer(bytes: Self.selfAbort(length: 300))
        var abortMessage = ByteBuffer(bytes: [0, 0, 0, 2])
        abortMessage.writeBytes([UInt8](repeating: 0, count: 296))
        let expected = ChunkDecoderOutput.message(RTMPMessage(typeID: 2, streamID: 0, timestamp: 0, chunkStreamID: 2,
                                                              payload: abortMessage))
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: [(abort, [expected])]) { ChunkDecoder() }
    }

    /// Whatever arrives, the running count equals the bytes actually held, and never exceeds the cap.
    @Test func heldBytesAlwaysMatchThePartialMessages() {
        var generator = SeededGenerator(seed: 0xAB0F7)
        let pieces: [[UInt8]] = [
            Self.selfAbort(length: 300),
            Self.header(csid: 6, length: 1000, type: 9, stream: 1) + [UInt8](repeating: 1, count: 128),
            [0xC6] + [UInt8](repeating: 2, count: 128),
            Self.header(csid: 2, length: 4, type: 2) + [0, 0, 0, 6],  // Abort chunk stream 6
            Self.header(csid: 7, length: 600, type: 8, stream: 1) + [UInt8](repeating: 3, count: 128),
            Self.header(csid: 2, length: 4, type: 2) + [0, 0, 0, 7],
            Self.header(csid: 2, length: 4, type: 1) + [0, 0, 0, 200],  // Set Chunk Size 200
        ]
        for _ in 0..<300 {
            var decoder = ChunkDecoder(limits: .init(maxMessageSize: 4096, maxChunkStreams: 8, maxBufferedBytes: 1500))
            var buffer = ByteBuffer()
            for _ in 0..<40 {
                buffer.writeBytes(pieces.randomElement(using: &generator)!)
                do {
                    _ = try decoder.decodeAvailable(&buffer)
                } catch {
                    break
                }
                #expect(decoder.bufferedBytes == decoder.partialBytesCounted)
                #expect((0...1500).contains(decoder.bufferedBytes))
            }
        }
    }

    /// Set Chunk Size (§5.4.1): 1…2²⁴ − 1 accepted; 0 and anything with the top bit set refused
    /// (the top bit was once masked off, so 0x8000_0080 meant 128).
    @Test(arguments: [(UInt32(1), true), (128, true), (0xFF_FFFF, true), (0, false), (0x100_0000, false),
                      (0x7FFF_FFFF, false), (0x8000_0080, false), (0xFFFF_FFFF, false)])
    func setChunkSizeIsBounded(size: UInt32, accepted: Bool) throws {
        var decoder = ChunkDecoder()
        var buffer = ByteBuffer(bytes: Self.header(csid: 2, length: 4, type: 1))
        buffer.writeInteger(size)
        if accepted {
            _ = try decoder.decodeAvailable(&buffer)
            #expect(decoder.chunkSize == Int(size))
        } else {
            #expect(throws: RTMPError.self) { _ = try decoder.decodeAvailable(&buffer) }
        }
    }

    /// Timestamps and deltas wrap modulo 2³² (§5.3.1.3), through type-1 and type-3 headers.
    @Test func timestampDeltasWrapAt32Bits() throws {
        var bytes: [UInt8] = [0x06, 0xFF, 0xFF, 0xFF, 0, 0, 1, 9, 1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xF0, 0xAA]
        bytes += [0x46, 0x00, 0x00, 0x20, 0, 0, 1, 9, 0xBB]  // delta 0x20: wraps to 0x10
        bytes += [0xC6, 0xCC]  // the same delta again: 0x30
        bytes += [0x86, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xDD]  // extended delta 2³² − 1: 0x2F
        var decoder = ChunkDecoder()
        var buffer = ByteBuffer(bytes: bytes)
        let stamps = try decoder.decodeAvailable(&buffer).compactMap { output -> UInt32? in
            if case .message(let message) = output { return message.timestamp }
            return nil
        }
        #expect(stamps == [0xFFFF_FFF0, 0x10, 0x30, 0x2F])
    }

    /// Window Acknowledgement Size takes the full 32 bits without trapping.
    @Test func largestWindowIsAccepted() throws {
        var decoder = ChunkDecoder()
        var buffer = ByteBuffer(bytes: Self.header(csid: 2, length: 4, type: 5) + [0xFF, 0xFF, 0xFF, 0xFF])
        buffer.writeBytes(Self.header(csid: 6, length: 100, type: 9, stream: 1) + [UInt8](repeating: 0, count: 100))
        #expect(try decoder.decodeAvailable(&buffer).count == 2)
    }
}
