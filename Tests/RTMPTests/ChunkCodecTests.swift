import NIOCore
import NIOEmbedded
import NIOTestUtils
import TestSupport
import Testing
@testable import RTMP

@Suite struct ChunkCodecTests {
    static func message(_ type: UInt8, ts: UInt32, csid: UInt32 = 3, stream: UInt32 = 0, _ payload: [UInt8]) -> RTMPMessage {
        RTMPMessage(typeID: type, streamID: stream, timestamp: ts, chunkStreamID: csid, payload: ByteBuffer(bytes: payload))
    }

    /// One message per header format on chunk stream 3, in the order header compression allows
    /// them (RTMP spec §5.3.1.2): the bytes an encoder must write and a decoder must read.
    static let compressed: [(RTMPMessage, [UInt8])] = [
        (message(20, ts: 1000, [1, 2, 3, 4]), [0x03, 0x00, 0x03, 0xE8, 0x00, 0x00, 0x04, 0x14, 0, 0, 0, 0, 1, 2, 3, 4]),
        (message(9, ts: 1040, [5, 6]), [0x43, 0x00, 0x00, 0x28, 0x00, 0x00, 0x02, 0x09, 5, 6]),
        (message(9, ts: 1060, [7, 8]), [0x83, 0x00, 0x00, 0x14, 7, 8]),
        (message(9, ts: 1080, [9, 10]), [0xC3, 9, 10]),
        (message(8, ts: 0x0100_0000, csid: 4, stream: 1, [0xAA]),
         [0x04, 0xFF, 0xFF, 0xFF, 0, 0, 1, 8, 1, 0, 0, 0, 0x01, 0x00, 0x00, 0x00, 0xAA]),
        (message(18, ts: 5, csid: 100, stream: 1, [0x05]), [0x00, 36, 0, 0, 5, 0, 0, 1, 18, 1, 0, 0, 0, 0x05]),
        (message(18, ts: 6, csid: 400, stream: 1, [0x05]), [0x01, 0x50, 0x01, 0, 0, 6, 0, 0, 1, 18, 1, 0, 0, 0, 0x05]),
    ]

    @Test func encoderWritesTheSmallestHeaders() {
        var encoder = ChunkEncoder()
        for (message, bytes) in Self.compressed {
            var buffer = ByteBuffer()
            encoder.encode(message, into: &buffer)
            #expect(Array(buffer.readableBytesView) == bytes)
        }
    }

    @Test func decoderReadsEveryHeaderFormat() throws {
        let bytes = Self.compressed.flatMap(\.1)
        #expect(try decode(bytes) == Self.compressed.map { .message($0.0) })
    }

    @Test func verifierFeedsByteByByteAndAllAtOnce() throws {
        let pairs = Self.compressed.indices.map { index -> (ByteBuffer, [ChunkDecoderOutput]) in
            (ByteBuffer(bytes: Self.compressed[0...index].flatMap(\.1)),
             Self.compressed[0...index].map { .message($0.0) })
        }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { ChunkDecoder() }
    }

    @Test func messagesLongerThanAChunkAreSplitAndJoined() throws {
        let payload = (0..<300).map { UInt8(truncatingIfNeeded: $0) }
        let message = Self.message(9, ts: 33, csid: 6, stream: 1, payload)
        var encoder = ChunkEncoder()
        var buffer = ByteBuffer()
        encoder.encode(message, into: &buffer)
        // 12-byte header, 128 bytes, then two type-3 continuation headers.
        #expect(buffer.readableBytes == 12 + 300 + 2)
        #expect(buffer.getInteger(at: 12 + 128, as: UInt8.self) == 0xC6)
        #expect(try decode(Array(buffer.readableBytesView)) == [.message(message)])
    }

    @Test func extendedTimestampsRepeatOnContinuationChunks() throws {
        let message = Self.message(9, ts: 0x0200_0000, csid: 6, stream: 1, Array(repeating: 7, count: 200))
        var buffer = ByteBuffer()
        ChunkEncoder.encodeStandalone(message, chunkSize: 128, into: &buffer)
        #expect(buffer.getInteger(at: 16 + 128 + 1, as: UInt32.self) == 0x0200_0000)
        #expect(try decode(Array(buffer.readableBytesView)) == [.message(message)])
    }

    @Test func setChunkSizeAppliesToTheNextChunk() throws {
        var encoder = ChunkEncoder()
        var buffer = ByteBuffer()
        encoder.encode(RTMPControl.setChunkSize(4096), into: &buffer)
        encoder.chunkSize = 4096
        let big = Self.message(9, ts: 0, csid: 6, stream: 1, Array(repeating: 1, count: 3000))
        encoder.encode(big, into: &buffer)
        let output = try decode(Array(buffer.readableBytesView))
        #expect(output.count == 2)
        #expect(output.last == .message(big))
    }

    @Test func abortDropsThePartialMessage() throws {
        var bytes: [UInt8] = [0x06, 0, 0, 0, 0, 0, 200, 9, 1, 0, 0, 0] + Array(repeating: 1, count: 128)
        bytes += [0x02, 0, 0, 0, 0, 0, 4, 2, 0, 0, 0, 0, 0, 0, 0, 6]  // Abort chunk stream 6
        bytes += [0x06, 0, 0, 0, 0, 0, 1, 9, 1, 0, 0, 0, 0x42]
        let output = try decode(bytes)
        #expect(output.count == 2)
        #expect(output.last == .message(Self.message(9, ts: 0, csid: 6, stream: 1, [0x42])))
    }

    @Test func acknowledgementsFollowThePeersWindow() throws {
        var encoder = ChunkEncoder()
        var buffer = ByteBuffer()
        encoder.encode(RTMPControl.windowAcknowledgementSize(100), into: &buffer)
        for index in 0..<3 { encoder.encode(Self.message(8, ts: UInt32(index), csid: 4, [UInt8](repeating: 0, count: 60)), into: &buffer) }
        let acks = try decode(Array(buffer.readableBytesView)).compactMap { output -> UInt32? in
            if case .acknowledge(let sequence) = output { return sequence }
            return nil
        }
        #expect(acks.count == 1)
        #expect((100...200).contains(acks[0]))
    }

    @Test func oversizedMessagesAreRefused() {
        let header: [UInt8] = [0x06, 0, 0, 0, 0x10, 0, 0, 9, 1, 0, 0, 0]  // 1 MiB
        #expect(throws: RTMPError(.messageTooLarge, "message of 1048576 bytes (limit 65536)")) {
            try decode(header, limits: .init(maxMessageSize: 65536))
        }
    }

    @Test func aChunkStreamMustStartWithAFullHeader() {
        #expect(throws: RTMPError.self) { try decode([0x43, 0, 0, 0, 0, 0, 1, 9, 1]) }
    }

    @Test func chunkStreamsAreLimited() {
        var bytes: [UInt8] = []
        for csid in 3..<10 { bytes += [UInt8(csid), 0, 0, 0, 0, 0, 1, 9, 1, 0, 0, 0, 0] }
        #expect(throws: RTMPError.self) { try decode(bytes, limits: .init(maxChunkStreams: 4)) }
    }

    @Test func randomAndTruncatedInputThrowsOrDecodes() throws {
        var generator = SeededGenerator(seed: 0x5EED)
        let valid = Self.compressed.flatMap(\.1)
        for length in 0..<valid.count {
            _ = try? decode(Array(valid[0..<length]))
        }
        for _ in 0..<500 {
            let bytes = (0..<Int.random(in: 1..<512, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try? decode(bytes, limits: .init(maxMessageSize: 1 << 16, maxBufferedBytes: 1 << 18))
        }
    }

    /// Runs bytes through the decoder in a channel, as the server does.
    func decode(_ bytes: [UInt8], limits: ChunkDecoder.Limits = .init()) throws -> [ChunkDecoderOutput] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(ChunkDecoder(limits: limits)))
        defer { _ = try? channel.finish() }
        try channel.writeInbound(ByteBuffer(bytes: bytes))
        var output: [ChunkDecoderOutput] = []
        while let next = try channel.readInbound(as: ChunkDecoderOutput.self) { output.append(next) }
        return output
    }
}
