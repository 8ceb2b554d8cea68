@testable import Media
import NIOCore

/// Codec configuration records, parameter sets and NAL unit framing: what a publisher's
/// sequence headers and frames become in HLS, CMAF and MP4.
enum CodecRecordTargets {
    static let all = [avc, hevc, aac, sps, annexB]

    /// `AVCConfiguration(record:)`, and the record rebuilt from its parameter sets parsed again.
    static let avc = FuzzTarget("avc-config", "AVCConfiguration(record:) and record(sequenceParameterSets:…) round trip") { input in
        guard let config = try? AVCConfiguration(record: input) else { return }
        _ = config.codecString
        guard let rebuilt = try? AVCConfiguration.record(sequenceParameterSets: config.sequenceParameterSets,
                                                         pictureParameterSets: config.pictureParameterSets) else { return }
        _ = try? AVCConfiguration(record: ByteBuffer(bytes: rebuilt))
    }

    /// `HEVCConfiguration(record:)`, and a record rebuilt from its VPS, SPS and PPS parsed again.
    static let hevc = FuzzTarget("hevc-config", "HEVCConfiguration(record:) and record(videoParameterSets:…) round trip") { input in
        guard let config = try? HEVCConfiguration(record: input) else { return }
        func sets(_ type: UInt8) -> [[UInt8]] {
            config.parameterSets.filter { ($0.first ?? 0) >> 1 & 0x3F == type }
        }
        guard let rebuilt = try? HEVCConfiguration.record(videoParameterSets: sets(32), sequenceParameterSets: sets(33),
                                                          pictureParameterSets: sets(34)) else { return }
        _ = try? HEVCConfiguration(record: ByteBuffer(bytes: rebuilt))
    }

    /// `AACConfiguration(bytes:)` and the ADTS header for a frame as long as the input.
    static let aac = FuzzTarget("aac-config", "AACConfiguration(bytes:) and adtsHeader") { input in
        guard let config = try? AACConfiguration(bytes: input) else { return }
        _ = config.codecString
        _ = config.adtsHeader(payloadLength: input.readableBytes)
    }

    /// One NAL unit read as an H.264 SPS and as an H.265 SPS (`NALBitReader`, Exp-Golomb codes,
    /// scaling lists, cropping).
    static let sps = FuzzTarget("sps", "AVC and HEVC SPS parsing (NALBitReader) for the picture size") { input in
        let nal = Array(input.readableBytesView)
        _ = try? AVCConfiguration.pictureSize(sps: nal)
        _ = try? HEVCConfiguration.pictureSize(sps: nal)
    }

    /// Annex B byte streams split into units and parameter sets, and the input read as
    /// length-prefixed NAL units (1, 2 and 4 byte lengths) turned into an Annex B access unit.
    static let annexB = FuzzTarget("annexb", "AnnexB units/parameterSets/lengthPrefixed/accessUnit, H.264 and HEVC") { input in
        let bytes = Array(input.readableBytesView)
        for codec in [AnnexB.Codec.h264, .hevc] {
            let sets = AnnexB.parameterSets(in: bytes, codec: codec)
            let prefixed = AnnexB.lengthPrefixed(bytes, codec: codec)
            _ = try? AnnexB.accessUnit(prefixed, lengthSize: 4, codec: codec, parameterSets: sets.values.flatMap { $0 })
            for size in [1, 2, 4] {
                _ = try? AnnexB.accessUnit(input, lengthSize: size, codec: codec, parameterSets: [[0x67, 0x42]])
            }
        }
    }
}
