@testable import Media
import NIOCore
import TestSupport
import Testing

/// AMF0 and `onMetaData` from a hostile publisher: counts, nesting and numbers are bounded where
/// they are read (AMF0 specification §2; FLV specification Annex E.5).
@Suite struct HostileAMFTests {
    static func strictArray(count: UInt32, of element: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [0x0A, UInt8(count >> 24), UInt8(count >> 16 & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF)]
        for _ in 0..<min(count, 5000) { bytes += element }
        return bytes
    }

    func code(_ bytes: [UInt8], _ decoder: AMF0Decoder = AMF0Decoder()) -> MediaFormatError.Code? {
        var buffer = ByteBuffer(bytes: bytes)
        do {
            _ = try decoder.decodeAll(&buffer)
            return nil
        } catch let error as MediaFormatError {
            return error.code
        } catch {
            return .unsupported
        }
    }

    @Test func arrayCountsAreBoundedBeforeAllocating() {
        #expect(code([0x0A, 0xFF, 0xFF, 0xFF, 0xFF]) == .tooLarge)
        #expect(code([0x0A, 0, 0, 0x10, 0]) == .truncated)  // 4096 claimed, none there
        #expect(code([0x0C, 0xFF, 0xFF, 0xFF, 0xFF, 0x41]) == .truncated)  // a 4 GiB long string
    }

    /// Regression: 16 arrays of 4096 nulls is 65,553 values from 65 KiB; an 8 MiB message of them
    /// decoded into hundreds of megabytes of `AMF0Value`s.
    @Test func valuesPerMessageAreBounded() {
        let inner = Self.strictArray(count: 4096, of: [0x05])
        #expect(code(Self.strictArray(count: 16, of: inner)) == .tooLarge)
        #expect(code(Self.strictArray(count: 15, of: inner)) == nil)
        #expect(code([UInt8](repeating: 0x05, count: 70_000)) == .tooLarge)
    }

    @Test func nestingIsBounded() {
        let level: [UInt8] = [0x0A, 0, 0, 0, 1]  // a strict array of one element
        let deep = Array([[UInt8]](repeating: level, count: 40).joined()) + [0x05]  // [[[…null…]]]
        #expect(deep.count == 201)
        #expect(code(deep) == .tooDeep)
        #expect(code(deep, AMF0Decoder(maxDepth: 64)) == nil)
    }

    @Test func randomAndTruncatedAMFThrowsOrDecodes() {
        var generator = SeededGenerator(seed: 0xA3F0)
        var valid = ByteBuffer()
        valid.writeAMF0(.string("onMetaData"))
        valid.writeAMF0(.ecmaArray([AMF0Property("width", .number(1920)), AMF0Property("tags", .strictArray([.null, .boolean(true)])),
                                    AMF0Property("nested", .object([AMF0Property("a", .string("b"))]))]))
        let bytes = Array(valid.readableBytesView)
        for length in 0..<bytes.count { _ = code(Array(bytes.prefix(length))) }
        for _ in 0..<2000 {
            var mutated = bytes
            let index = Int.random(in: 0..<mutated.count, using: &generator)
            mutated[index] = UInt8.random(in: 0...255, using: &generator)
            _ = code(mutated)
            _ = code((0..<Int.random(in: 1...64, using: &generator)).map { _ in UInt8.random(in: 0...0x12, using: &generator) })
        }
    }

    /// Regression: `Int(width)` on these trapped the publisher's event loop, and every stream on it.
    @Test(arguments: [
        (AMF0Value.number(1920), 1920 as Int?), (.number(1919.6), 1920), (.number(.nan), nil), (.number(.infinity), nil),
        (.number(-.infinity), nil), (.number(1e300), nil), (.number(-1), nil), (.number(0), nil), (.number(16384), 16384),
        (.number(16385), nil), (.number(9.3e18), nil), (.string("1920"), nil), (.null, nil),
    ])
    func metadataDimensionsAreChecked(value: AMF0Value, expected: Int?) throws {
        let metadata = StreamMetadata(properties: .ecmaArray([AMF0Property("width", value), AMF0Property("height", value)]))
        #expect(metadata.width == expected)
        #expect(metadata.height == expected)
    }

    @Test func metadataRatesAreChecked() throws {
        var body = ByteBuffer()
        body.writeAMF0(.string("onMetaData"))
        body.writeAMF0(.ecmaArray([
            AMF0Property("framerate", .number(29.97)), AMF0Property("videodatarate", .number(2500.4)),
            AMF0Property("audiodatarate", .number(.nan)),
        ]))
        let metadata = try StreamMetadata(script: body)
        #expect(metadata == StreamMetadata(frameRate: 29.97, videoDataRate: 2500))
        for rate in [0, -30, .nan, .infinity, 1e300, 1001] {
            #expect(StreamMetadata(properties: .object([AMF0Property("framerate", .number(rate))])).frameRate == nil)
        }
        #expect(StreamMetadata(properties: .object([AMF0Property("videodatarate", .number(2e6))])).videoDataRate == nil)
        var other = ByteBuffer()
        other.writeAMF0(.string("onCuePoint"))
        other.writeAMF0(.object([]))
        #expect(throws: MediaFormatError.self) { try StreamMetadata(script: other) }
    }

    /// Durations made from a hostile stream's times print oddly but never trap.
    @Test func playlistNumbersSaturate() {
        #expect(PlaylistNumber.fixed(2, places: 3) == "2.000")
        #expect(PlaylistNumber.fixed(.nan, places: 3) == "0.000")
        #expect(PlaylistNumber.fixed(.infinity, places: 3) == "9223372036854775.807")
        #expect(PlaylistNumber.fixed(-1e300, places: 3) == "-9223372036854775.808")
        #expect(PlaylistNumber.short(-0.5) == "-0.5")
    }
}
