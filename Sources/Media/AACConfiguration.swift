import NIOCore

/// An MPEG-4 AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1), as carried in an FLV AAC sequence
/// header: what ADTS headers, `esds` boxes and codec strings need.
public struct AACConfiguration: Sendable, Hashable {
    /// The config exactly as received; it becomes the DecoderSpecificInfo of `esds`.
    public var bytes: [UInt8]
    /// Audio object type: 2 is AAC-LC.
    public var objectType: UInt8
    public var sampleRateIndex: UInt8
    public var sampleRate: Int
    public var channels: Int

    /// Samples per AAC frame (1024 for every object type Sluice packages).
    public static let samplesPerFrame = 1024

    private static let sampleRates = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350]

    public init(bytes config: ByteBuffer) throws {
        bytes = Array(config.readableBytesView)
        guard bytes.count >= 2 else { throw MediaFormatError(.truncated, "AudioSpecificConfig") }
        var reader = NALBitReader(nal: bytes)
        var type = try reader.bits(5)
        if type == 31 { type = 32 + (try reader.bits(6)) }
        objectType = UInt8(truncatingIfNeeded: type)
        sampleRateIndex = UInt8(try reader.bits(4))
        if sampleRateIndex == 15 {
            sampleRate = Int(try reader.bits(24))
        } else {
            guard Int(sampleRateIndex) < Self.sampleRates.count else {
                throw MediaFormatError(.malformed, "AAC sample rate index \(sampleRateIndex)")
            }
            sampleRate = Self.sampleRates[Int(sampleRateIndex)]
        }
        channels = Int(try reader.bits(4))
        guard objectType > 0, sampleRate > 0 else { throw MediaFormatError(.malformed, "AudioSpecificConfig") }
    }

    /// `mp4a.40.N` (RFC 6381 §3.3).
    public var codecString: String { "mp4a.40.\(objectType)" }

    /// A 7-byte ADTS header for a raw AAC frame of `payloadLength` bytes (ISO/IEC 13818-7 §6.2),
    /// without CRC.
    public func adtsHeader(payloadLength: Int) -> [UInt8] {
        let length = payloadLength + 7
        let profile = (objectType &- 1) & 0x03
        let rateIndex = sampleRateIndex & 0x0F
        let channelConfig = UInt8(channels & 0x07)
        return [
            0xFF, 0xF1,
            profile << 6 | rateIndex << 2 | channelConfig >> 2,
            (channelConfig & 0x03) << 6 | UInt8((length >> 11) & 0x03),
            UInt8((length >> 3) & 0xFF),
            UInt8((length & 0x07) << 5) | 0x1F,
            0xFC,
        ]
    }
}
