import Media
import NIOCore
import RTC

/// Turns depacketized H.264 access units (RFC 6184) into FLV video tag bodies as an RTMP
/// publisher sends them (FLV spec E.4.3.1, legacy AVC packets): a sequence header (an
/// AVCDecoderConfigurationRecord from the newest SPS and PPS) before the first frame and again
/// whenever the parameter sets change, then each frame's NAL units behind 4-byte lengths (AVCC)
/// with composition time 0 (WebRTC carries no B-frames: decode order is presentation order).
///
/// Parameter sets, access unit delimiters and filler data are left out of the frames. Frames
/// before a configuration that parses are dropped (counted): no reader could decode them.
struct AVCTagWriter: Sendable {
    /// What one access unit became.
    struct Output: Sendable {
        /// A new sequence header body, to go out before `frame`.
        var sequenceHeader: ByteBuffer?
        var frame: ByteBuffer?
        var isKeyframe = false
    }

    private var sps: [UInt8]?
    private var pps: [UInt8]?
    /// The configuration record last sent.
    private var announced: [UInt8]?
    /// Access units dropped for want of a configuration that parses.
    private(set) var dropped = 0

    /// NAL unit types (H.264 Table 7-1) kept out of frames: SPS 7, PPS 8, AUD 9, filler 12.
    private static let leftOut: Set<UInt8> = [7, 8, 9, 12]

    mutating func write(_ unit: H264AccessUnit) -> Output {
        noteParameterSets(unit)
        var output = Output()
        if let (sps, pps) = parameterSets {
            do {
                let record = try AVCConfiguration.record(sequenceParameterSets: [sps], pictureParameterSets: [pps])
                if record != announced {
                    _ = try AVCConfiguration(record: ByteBuffer(bytes: record))  // an SPS that does not parse is refused here
                    announced = record
                    output.sequenceHeader = FLV.videoBody(codec: .h264, keyframe: true, sequenceHeader: true,
                                                          data: ByteBuffer(bytes: record))
                }
            } catch {
                announced = nil
                (self.sps, self.pps) = (nil, nil)
            }
        }
        var data = ByteBuffer()
        var isKeyframe = false
        for nal in unit.nalUnits {
            guard let header = nal.getInteger(at: nal.readerIndex, as: UInt8.self) else { continue }
            let type = header & 0x1F
            guard !Self.leftOut.contains(type) else { continue }
            isKeyframe = isKeyframe || type == 5
            data.writeInteger(UInt32(nal.readableBytes))
            data.writeImmutableBuffer(nal)
        }
        guard data.readableBytes > 0 else { return output }
        guard announced != nil else {
            dropped += 1
            return output
        }
        output.isKeyframe = isKeyframe || unit.isKeyframe
        output.frame = FLV.videoBody(codec: .h264, keyframe: output.isKeyframe, compositionTime: 0, data: data)
        return output
    }

    private var parameterSets: ([UInt8], [UInt8])? {
        guard let sps, let pps else { return nil }
        return (sps, pps)
    }

    /// The access unit's SPS and PPS, from its fields or its NAL units, become the newest.
    private mutating func noteParameterSets(_ unit: H264AccessUnit) {
        if let set = unit.sps, set.readableBytes > 0 { sps = Array(set.readableBytesView) }
        if let set = unit.pps, set.readableBytes > 0 { pps = Array(set.readableBytesView) }
        for nal in unit.nalUnits {
            switch nal.getInteger(at: nal.readerIndex, as: UInt8.self).map({ $0 & 0x1F }) {
            case 7?: sps = Array(nal.readableBytesView)
            case 8?: pps = Array(nal.readableBytesView)
            default: break
            }
        }
    }
}
