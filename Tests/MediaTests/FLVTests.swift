import Media
import NIOCore
import Testing

@Suite struct FLVTests {
    @Test func headerSaysWhatTheStreamCarries() {
        let header = FLV.fileHeader(hasAudio: true, hasVideo: true)
        #expect(Array(header.readableBytesView) == [0x46, 0x4C, 0x56, 0x01, 0x05, 0, 0, 0, 9, 0, 0, 0, 0])
    }

    @Test func tagLayoutMatchesTheSpecification() {
        let tag = FLV.tag(type: .video, timestamp: 0x0102_0304, body: ByteBuffer(bytes: [0xAA, 0xBB]))
        #expect(Array(tag.readableBytesView) == [
            9, 0, 0, 2,  // type, data size
            0x02, 0x03, 0x04, 0x01,  // timestamp (24 bits) then its extension byte
            0, 0, 0,  // stream id
            0xAA, 0xBB,
            0, 0, 0, 13,  // PreviousTagSize
        ])
    }

    /// A whole file fed at once: bodies are slices of a few storages, not each of its own copy
    /// of the rest of the file (which once made a 15 MB file take 24 GB to read).
    @Test func tagsOfALargeInputShareAFewStorages() throws {
        var file = FLV.fileHeader(hasAudio: false, hasVideo: true)
        let tags = 4000
        for index in 0..<tags {
            FLV.writeTag(type: .video, timestamp: UInt32(index), body: ByteBuffer(repeating: UInt8(index % 251), count: 1000),
                         into: &file)
        }
        var reader = FLVStreamReader()
        reader.feed(file)
        var bodies: [ByteBuffer] = []
        while let tag = try reader.nextTag() { bodies.append(tag.body) }
        #expect(bodies.count == tags)
        #expect(bodies.allSatisfy { $0.readableBytes == 1000 })
        let addresses = bodies.map { $0.withUnsafeReadableBytes { Int(bitPattern: $0.baseAddress) } }
        let storages = 1 + zip(addresses, addresses.dropFirst()).filter { $1 != $0 + 1000 + FLV.tagHeaderSize + 4 }.count
        #expect(storages <= 12, "\(storages) storages for \(tags) tags")
    }

    @Test func readerReturnsTagsFedByteByByte() throws {
        var stream = FLV.fileHeader(hasAudio: true, hasVideo: false)
        stream.writeImmutableBuffer(FLV.tag(type: .audio, timestamp: 40, body: ByteBuffer(bytes: [0xAF, 0x01, 0x21])))
        stream.writeImmutableBuffer(FLV.tag(type: .script, timestamp: 0x1_0000_00, body: ByteBuffer(bytes: [0x05])))
        var reader = FLVStreamReader()
        var tags: [FLVReadTag] = []
        for byte in stream.readableBytesView {
            reader.feed(ByteBuffer(bytes: [byte]))
            while let tag = try reader.nextTag() { tags.append(tag) }
        }
        #expect(tags.map(\.type) == [.audio, .script])
        #expect(tags.map(\.timestamp) == [40, 0x1_0000_00])
        #expect(Array(tags[0].body.readableBytesView) == [0xAF, 0x01, 0x21])
    }

    @Test func readerRefusesANonFLVStream() {
        var reader = FLVStreamReader()
        reader.feed(ByteBuffer(string: "HTTP/1.1 404 Not Found\r\n"))
        #expect(throws: MediaFormatError.self) { try reader.nextTag() }
    }

    @Test func videoTagInfoReadsAVCAndEnhancedHeaders() throws {
        let header = try VideoTagInfo(body: ByteBuffer(bytes: [0x17, 0x00, 0, 0, 0, 1]))
        #expect(header.codec == .h264 && header.isKeyframe && header.isSequenceHeader && header.compositionTime == 0)
        let inter = try VideoTagInfo(body: ByteBuffer(bytes: [0x27, 0x01, 0, 0, 0x50, 9]))
        #expect(inter.codec == .h264 && !inter.isKeyframe && !inter.isSequenceHeader && inter.compositionTime == 80)
        let negative = try VideoTagInfo(body: ByteBuffer(bytes: [0x27, 0x01, 0xFF, 0xFF, 0xF6, 9]))
        #expect(negative.compositionTime == -10)
        // Enhanced RTMP: IsExHeader | keyframe, packet type 0 (sequence start), FourCC hvc1.
        let hevc = try VideoTagInfo(body: ByteBuffer(bytes: [0x90, 0x68, 0x76, 0x63, 0x31, 1]))
        #expect(hevc.codec == .hevc && hevc.isKeyframe && hevc.isSequenceHeader)
        let av1 = try VideoTagInfo(body: ByteBuffer(bytes: [0xA1, 0x61, 0x76, 0x30, 0x31, 1]))
        #expect(av1.codec == .av1 && !av1.isKeyframe && !av1.isSequenceHeader)
        #expect(throws: MediaFormatError.self) { try VideoTagInfo(body: ByteBuffer()) }
        #expect(throws: MediaFormatError.self) { try VideoTagInfo(body: ByteBuffer(bytes: [0x17, 0x01])) }
    }

    @Test func audioTagInfoReadsAAC() throws {
        #expect(try AudioTagInfo(body: ByteBuffer(bytes: [0xAF, 0x00, 0x12, 0x10])).isSequenceHeader)
        #expect(try !AudioTagInfo(body: ByteBuffer(bytes: [0xAF, 0x01, 0x21])).isSequenceHeader)
        #expect(try AudioTagInfo(body: ByteBuffer(bytes: [0x2F, 0xFF])).codec == .mp3)
        #expect(throws: MediaFormatError.self) { try AudioTagInfo(body: ByteBuffer(bytes: [0xAF])) }
    }
}

