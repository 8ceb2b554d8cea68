import CFFmpeg
import Media

/// Decodes H.264 or HEVC from the length-prefixed NAL units FLV carries, configured by the
/// stream's decoder configuration record (`avcC`/`hvcC`). Timestamps in milliseconds.
final class VideoDecoder {
    private var context: UnsafeMutablePointer<AVCodecContext>?
    private let packet: Packet

    /// - Parameter threads: 0 lets FFmpeg choose (frame and slice threads); 1 decodes each
    ///   picture at once, for callers that take single pictures.
    init(codec: VideoCodec, configuration: [UInt8], threads: Int32 = 0) throws {
        let id: AVCodecID
        switch codec {
        case .h264: id = AV_CODEC_ID_H264
        case .hevc: id = AV_CODEC_ID_HEVC
        default: throw FFmpegError("no decoder for \(codec.rawValue)", code: FFmpegError.invalid)
        }
        guard let decoder = avcodec_find_decoder(id) else {
            throw FFmpegError("no \(codec.rawValue) decoder in libavcodec", code: FFmpegError.invalid)
        }
        guard let context = avcodec_alloc_context3(decoder) else { throw FFmpegError.outOfMemory("avcodec_alloc_context3") }
        self.context = context
        packet = try Packet()
        context.pointee.extradata = try paddedCopy(configuration)
        context.pointee.extradata_size = Int32(configuration.count)
        context.pointee.time_base = millisecondTimeBase
        context.pointee.pkt_timebase = millisecondTimeBase
        // As many threads as FFmpeg picks (frame and slice threading), as the ffmpeg command line
        // decodes: decoding then overlaps the encoders' work. Frame threads hold back one frame
        // per extra thread (tens of milliseconds).
        context.pointee.thread_count = threads
        try check(avcodec_open2(context, decoder, nil), "opening the \(codec.rawValue) decoder")
    }

    deinit {
        avcodec_free_context(&context)
    }

    /// The frame rate the bitstream declares (SPS VUI), if any.
    var declaredFrameRate: AVRational? {
        guard let rate = context?.pointee.framerate, rate.num > 0, rate.den > 0 else { return nil }
        return rate
    }

    /// Decodes one coded frame; `output` gets every picture that became ready (often none at
    /// first, then one per frame).
    func decode<Bytes: Collection<UInt8>>(_ units: Bytes, pts: Int64, dts: Int64, keyframe: Bool,
                                          into frame: Frame, output: (Frame) throws -> Void) throws {
        try packet.fill(units, pts: pts, dts: dts, keyframe: keyframe)
        defer { packet.clear() }
        var sent = avcodec_send_packet(context, packet.pointer)
        if sent == FFmpegError.tryAgain {
            // The decoder wants its pictures taken before it takes more.
            try drain(into: frame, output: output)
            sent = avcodec_send_packet(context, packet.pointer)
        }
        // A damaged frame is reported and skipped; the next keyframe recovers the picture.
        try check(sent, "decoding a video frame")
        try drain(into: frame, output: output)
    }

    /// Returns the pictures still held back (at the end of a stream).
    func flush(into frame: Frame, output: (Frame) throws -> Void) throws {
        _ = avcodec_send_packet(context, nil)
        try drain(into: frame, output: output)
    }

    /// After a flush: ready for new packets (the next must be a keyframe).
    func reset() {
        avcodec_flush_buffers(context)
    }

    private func drain(into frame: Frame, output: (Frame) throws -> Void) throws {
        while true {
            let received = avcodec_receive_frame(context, frame.pointer)
            if received == FFmpegError.tryAgain || received == FFmpegError.endOfFile { return }
            try check(received, "receiving a decoded picture")
            frame.pts = frame.pointer.pointee.best_effort_timestamp
            defer { frame.clear() }
            try output(frame)
        }
    }
}
