@testable import Media
import NIOCore
import Testing

/// Parameter sets captured from ffmpeg 5.1 / libx264 (`ffmpeg -f lavfi -i testsrc2=size=640x360
/// -frames:v 1 -c:v libx264 -preset ultrafast -f h264`), and an ADTS header from its AAC encoder
/// (`-c:a aac -f adts`, 44.1 kHz mono).
enum Captured {
    static let sps: [UInt8] = hex("6742c01eda0280bfe5c044000003000400000300f03c58ba80")
    static let pps: [UInt8] = hex("68ce0fc8")
    static var avcRecord: [UInt8] {
        [1, 0x42, 0xC0, 0x1E, 0xFF, 0xE1, 0, UInt8(sps.count)] + sps + [1, 0, UInt8(pps.count)] + pps
    }
    /// AAC-LC, 44.1 kHz, mono.
    static let audioSpecificConfig: [UInt8] = [0x12, 0x08]
    /// The first ADTS header ffmpeg wrote for a 258-byte frame.
    static let adtsHeader: [UInt8] = hex("fff15040213ffc")

    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }
}

@Suite struct CodecConfigurationTests {
    @Test func avcRecordGivesParameterSetsSizeAndCodec() throws {
        let config = try AVCConfiguration(record: ByteBuffer(bytes: Captured.avcRecord))
        #expect(config.sequenceParameterSets == [Captured.sps])
        #expect(config.pictureParameterSets == [Captured.pps])
        #expect(config.nalLengthSize == 4)
        #expect(config.width == 640 && config.height == 360)
        #expect(config.codecString == "avc1.42c01e")
    }

    @Test func truncatedAVCRecordsThrow() {
        let record = Captured.avcRecord
        for length in 0..<record.count {
            #expect(throws: MediaFormatError.self) { try AVCConfiguration(record: ByteBuffer(bytes: record.prefix(length))) }
        }
    }

    @Test func audioSpecificConfigAndADTS() throws {
        let config = try AACConfiguration(bytes: ByteBuffer(bytes: Captured.audioSpecificConfig))
        #expect(config.objectType == 2 && config.sampleRate == 44100 && config.channels == 1)
        #expect(config.codecString == "mp4a.40.2")
        #expect(config.adtsHeader(payloadLength: 258) == Captured.adtsHeader)
    }

    @Test func exponentialGolombCodes() throws {
        // 1 → 0, 010 → 1, 011 → 2, 00100 → 3; as se(v): 0, 1, −1, 2.
        var reader = NALBitReader(nal: [0b1010_0110, 0b0100_0000])
        #expect(try [reader.unsignedGolomb(), reader.unsignedGolomb(), reader.unsignedGolomb(), reader.unsignedGolomb()] == [0, 1, 2, 3])
        var signed = NALBitReader(nal: [0b1010_0110, 0b0100_0000])
        #expect(try [signed.signedGolomb(), signed.signedGolomb(), signed.signedGolomb(), signed.signedGolomb()] == [0, 1, -1, 2])
    }

    @Test func emulationPreventionBytesAreRemoved() throws {
        var reader = NALBitReader(nal: [0x00, 0x00, 0x03, 0x01])
        #expect(try reader.bits(24) == 0x000001)
    }

    @Test func annexBAccessUnitHasDelimiterParameterSetsAndStartCodes() throws {
        var units = ByteBuffer()
        units.writeInteger(UInt32(3))
        units.writeBytes([0x65, 0xAA, 0xBB])
        let unit = try AnnexB.accessUnit(units, lengthSize: 4, codec: .h264, parameterSets: [Captured.sps, Captured.pps])
        let expected: [UInt8] = [0, 0, 0, 1, 0x09, 0xF0] + [0, 0, 0, 1] + Captured.sps + [0, 0, 0, 1] + Captured.pps
            + [0, 0, 0, 1, 0x65, 0xAA, 0xBB]
        #expect(Array(unit.readableBytesView) == expected)
        var short = ByteBuffer()
        short.writeInteger(UInt32(9))
        short.writeBytes([0x65])
        #expect(throws: MediaFormatError.self) { try AnnexB.accessUnit(short, lengthSize: 4, codec: .h264) }
    }
}
