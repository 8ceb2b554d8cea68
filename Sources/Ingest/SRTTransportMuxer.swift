import Events
import Media
import NIOCore

/// One SRT player's MPEG-TS: the stream's frames, as the fan-out hands them over (FLV tag
/// bodies), written with Media's `MPEGTSMuxer` the way classic HLS writes its segments (Annex B
/// access units with the parameter sets before each keyframe, AAC behind ADTS headers).
///
/// The transport stream starts at the first video keyframe (or, for a stream without video, the
/// first audio frame) with PAT and PMT, and starts again with new tables when a decoder
/// configuration changes. Per player for now: every SRT viewer of a stream muxes the same
/// frames again (the fan-out serializes FLV and RTMP once per stream, not TS yet).
struct SRTTransportMuxer {
    private enum Video {
        case avc(AVCConfiguration)
        case hevc(HEVCConfiguration)

        var stream: MPEGTSMuxer.VideoStream {
            switch self {
            case .avc: return .h264
            case .hevc: return .hevc
            }
        }
    }

    private var video: Video?
    private var audio: AACConfiguration?
    /// Nil until the stream starts, and again after a configuration change.
    private var muxer: MPEGTSMuxer?
    /// Frames that could not be written (no configuration, unreadable), for the logs.
    private(set) var unwritable = 0

    /// The TS bytes of `frame`; empty when it writes nothing (metadata, a configuration, a frame
    /// before the stream can start).
    mutating func write(_ frame: MediaFrame) -> ByteBuffer {
        var output = ByteBuffer()
        switch frame.kind {
        case .video where frame.isSequenceHeader: configureVideo(frame)
        case .audio where frame.isSequenceHeader: configureAudio(frame)
        case .video: writeVideo(frame, into: &output)
        case .audio: writeAudio(frame, into: &output)
        case .metadata, .end: break
        }
        return output
    }

    /// Whether `frame` is a point a player can start from: a video keyframe, or any audio
    /// frame of a stream without video.
    func isRandomAccess(_ frame: MediaFrame) -> Bool {
        frame.kind == .video ? frame.isKeyframe && !frame.isSequenceHeader : frame.kind == .audio && video == nil
    }

    private mutating func configureVideo(_ frame: MediaFrame) {
        guard let info = try? VideoTagInfo(body: frame.payload),
              let record = frame.payload.getSlice(at: frame.payload.readerIndex + info.dataOffset,
                                                  length: frame.payload.readableBytes - info.dataOffset) else { return }
        let configured: Video?
        switch info.codec {
        case .h264: configured = (try? AVCConfiguration(record: record)).map(Video.avc)
        case .hevc: configured = (try? HEVCConfiguration(record: record)).map(Video.hevc)
        default: configured = nil
        }
        guard let configured else { return }
        if configured.stream != video?.stream { muxer = nil }
        video = configured
    }

    private mutating func configureAudio(_ frame: MediaFrame) {
        guard frame.codec == AudioCodec.aac.rawValue,
              let bytes = frame.payload.getSlice(at: frame.payload.readerIndex + 2, length: frame.payload.readableBytes - 2),
              let configured = try? AACConfiguration(bytes: bytes) else { return }
        if audio == nil { muxer = nil }
        audio = configured
    }

    /// The muxer, started (tables written into `output`) when `frame` may start the stream.
    private mutating func started(by frame: MediaFrame, into output: inout ByteBuffer) -> Bool {
        if muxer != nil { return true }
        guard isRandomAccess(frame) else { return false }
        var fresh = MPEGTSMuxer(video: video?.stream, hasAudio: audio != nil)
        fresh.writeTables(into: &output)
        muxer = fresh
        return true
    }

    private mutating func writeVideo(_ frame: MediaFrame, into output: inout ByteBuffer) {
        guard let video, let info = try? VideoTagInfo(body: frame.payload), info.isCodedFrame,
              let data = frame.payload.getSlice(at: frame.payload.readerIndex + info.dataOffset,
                                                length: frame.payload.readableBytes - info.dataOffset) else {
            unwritable += 1
            return
        }
        let (codec, lengthSize, sets): (AnnexB.Codec, Int, [[UInt8]]) = switch video {
        case .avc(let config): (.h264, config.nalLengthSize, config.sequenceParameterSets + config.pictureParameterSets)
        case .hevc(let config): (.hevc, config.nalLengthSize, config.parameterSets)
        }
        guard let unit = try? AnnexB.accessUnit(data, lengthSize: lengthSize, codec: codec,
                                                parameterSets: frame.isKeyframe ? sets : []) else {
            unwritable += 1
            return
        }
        guard started(by: frame, into: &output) else { return }
        // 90 kHz; the muxer keeps 33 bits, so a wrapped product writes the same time.
        muxer?.writeVideo(unit, pts: frame.pts &* 90, dts: frame.dts &* 90, isKeyframe: frame.isKeyframe, into: &output)
    }

    private mutating func writeAudio(_ frame: MediaFrame, into output: inout ByteBuffer) {
        guard let audio, let data = frame.payload.getSlice(at: frame.payload.readerIndex + 2, length: frame.payload.readableBytes - 2),
              data.readableBytes > 0, data.readableBytes <= 8191 - 7 else {
            unwritable += 1
            return
        }
        guard started(by: frame, into: &output) else { return }
        var adts = ByteBuffer(bytes: audio.adtsHeader(payloadLength: data.readableBytes))
        adts.writeImmutableBuffer(data)
        muxer?.writeAudio(adts, pts: frame.dts &* 90, into: &output)
    }
}
