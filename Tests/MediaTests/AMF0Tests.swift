import Media
import NIOCore
import TestSupport
import Testing

@Suite struct AMF0Tests {
    /// Values and their exact AMF0 bytes (AMF0 specification §2), checked both ways.
    static let table: [(AMF0Value, [UInt8])] = [
        (.number(1), [0x00, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0]),
        (.boolean(true), [0x01, 0x01]),
        (.boolean(false), [0x01, 0x00]),
        (.string("app"), [0x02, 0x00, 0x03, 0x61, 0x70, 0x70]),
        (.null, [0x05]),
        (.undefined, [0x06]),
        (.object([AMF0Property("a", .null)]), [0x03, 0x00, 0x01, 0x61, 0x05, 0x00, 0x00, 0x09]),
        (.ecmaArray([AMF0Property("w", .number(0))]),
         [0x08, 0, 0, 0, 1, 0x00, 0x01, 0x77, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x09]),
        (.strictArray([.boolean(true), .null]), [0x0A, 0, 0, 0, 2, 0x01, 0x01, 0x05]),
        (.date(0), [0x0B, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    ]

    @Test(arguments: table.indices)
    func encodesAndDecodes(index: Int) throws {
        let (value, bytes) = Self.table[index]
        var encoded = ByteBuffer()
        encoded.writeAMF0(value)
        #expect(Array(encoded.readableBytesView) == bytes)
        var input = ByteBuffer(bytes: bytes)
        #expect(try AMF0Decoder().decode(&input) == value)
        #expect(input.readableBytes == 0)
    }

    @Test func longStringsUseTheLongMarker() throws {
        let long = String(repeating: "x", count: 70_000)
        var buffer = ByteBuffer()
        buffer.writeAMF0(.string(long))
        #expect(buffer.getInteger(at: 0, as: UInt8.self) == 0x0C)
        #expect(try AMF0Decoder().decode(&buffer) == .string(long))
    }

    @Test func readsMetadataLikeFFmpegWritesIt() throws {
        let metadata: AMF0Value = .ecmaArray([
            AMF0Property("width", .number(640)), AMF0Property("height", .number(360)),
            AMF0Property("encoder", .string("Lavf59.27.100")), AMF0Property("stereo", .boolean(true)),
        ])
        var buffer = ByteBuffer()
        buffer.writeAMF0(.string("onMetaData"))
        buffer.writeAMF0(metadata)
        let values = try AMF0Decoder().decodeAll(&buffer)
        #expect(values == [.string("onMetaData"), metadata])
        #expect(values[1]["width"] == .number(640))
    }

    @Test func refusesNestingBeyondTheLimit() {
        var bytes: [UInt8] = []
        for _ in 0..<40 { bytes += [0x03, 0x00, 0x01, 0x61] }  // object { a: object { a: … } }
        var buffer = ByteBuffer(bytes: bytes + [0x05])
        #expect(throws: MediaFormatError.self) { try AMF0Decoder(maxDepth: 16).decode(&buffer) }
    }

    @Test func refusesHugeArrayCounts() {
        var buffer = ByteBuffer(bytes: [0x0A, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(throws: MediaFormatError.self) { try AMF0Decoder().decode(&buffer) }
    }

    @Test func everyTruncationThrows() {
        var full = ByteBuffer()
        full.writeAMF0(.object([AMF0Property("app", .string("stream")), AMF0Property("n", .number(3))]))
        let bytes = Array(full.readableBytesView)
        for length in 0..<bytes.count {
            var buffer = ByteBuffer(bytes: bytes[0..<length])
            #expect(throws: MediaFormatError.self) { try AMF0Decoder().decode(&buffer) }
        }
    }

    @Test func randomInputThrowsOrDecodes() {
        var generator = SeededGenerator(seed: 0xA3F0)
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0..<64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var buffer = ByteBuffer(bytes: bytes)
            _ = try? AMF0Decoder().decodeAll(&buffer)
        }
    }

    @Test func readsAMF3ScalarsAfterTheSwitchMarker() throws {
        // 0x11 switches to AMF3: integer 5, then AMF3 string "hi".
        var buffer = ByteBuffer(bytes: [0x11, 0x04, 0x05, 0x11, 0x06, 0x05, 0x68, 0x69])
        #expect(try AMF0Decoder().decodeAll(&buffer) == [.number(5), .string("hi")])
    }
}
