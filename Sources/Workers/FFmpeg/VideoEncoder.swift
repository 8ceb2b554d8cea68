import CFFmpeg

/// How one rendition is encoded.
public struct EncoderSettings: Sendable, Hashable {
    public enum Codec: String, Sendable, Hashable {
        case h264, h265

        var encoderName: String { self == .h264 ? "libx264" : "libx265" }
    }

    public var codec: Codec
    public var width: Int
    public var height: Int
    /// Average bit rate, bits per second; VBV max rate and buffer come from it.
    public var bitRate: Int
    public var maxRate: Int
    public var bufferSize: Int
    public var frameRate: Double
    /// x264/x265 preset and tune (`veryfast`, `zerolatency` by default).
    public var preset: String
    public var tune: String
    /// Longest GOP in frames. Keyframes are forced where the source has them; this only bounds
    /// sources whose keyframes are further apart.
    public var maxGOPFrames: Int

    public init(codec: Codec, width: Int, height: Int, bitRate: Int, maxRate: Int, bufferSize: Int, frameRate: Double,
                preset: String, tune: String, maxGOPFrames: Int) {
        self.codec = codec
        self.width = width
        self.height = height
        self.bitRate = bitRate
        self.maxRate = maxRate
        self.bufferSize = bufferSize
        self.frameRate = frameRate
        self.preset = preset
        self.tune = tune
        self.maxGOPFrames = maxGOPFrames
    }
}

/// Encodes pictures with libx264 or libx265: no B-frames, no scene-cut keyframes, IDR frames
/// exactly where the caller marks pictures as intra. The parameter sets come once, in
/// `extradata` (Annex B), not in the frames.
final class VideoEncoder {
    private var context: UnsafeMutablePointer<AVCodecContext>?
    private let packet: Packet
    let settings: EncoderSettings

    init(_ settings: EncoderSettings) throws {
        self.settings = settings
        guard let encoder = avcodec_find_encoder_by_name(settings.codec.encoderName) else {
            throw FFmpegError("\(settings.codec.encoderName) is not in this libavcodec", code: FFmpegError.invalid)
        }
        guard let context = avcodec_alloc_context3(encoder) else { throw FFmpegError.outOfMemory("avcodec_alloc_context3") }
        self.context = context
        packet = try Packet()
        context.pointee.width = Int32(settings.width)
        context.pointee.height = Int32(settings.height)
        context.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        context.pointee.time_base = millisecondTimeBase
        context.pointee.framerate = av_d2q(settings.frameRate, 1001 * 1000)
        context.pointee.bit_rate = Int64(settings.bitRate)
        context.pointee.rc_max_rate = Int64(settings.maxRate)
        context.pointee.rc_buffer_size = Int32(settings.bufferSize)
        context.pointee.gop_size = Int32(settings.maxGOPFrames)
        context.pointee.max_b_frames = 0
        context.pointee.flags |= Int32(AV_CODEC_FLAG_GLOBAL_HEADER)

        var options: OpaquePointer?
        defer { av_dict_free(&options) }
        av_dict_set(&options, "preset", settings.preset, 0)
        if !settings.tune.isEmpty { av_dict_set(&options, "tune", settings.tune, 0) }
        av_dict_set(&options, "forced-idr", "1", 0)
        switch settings.codec {
        case .h264:
            av_dict_set(&options, "x264-params", "scenecut=0", 0)
            // Closed captions (A/53 cc_data the decoder attached to the picture as side data,
            // kept through the filter graph) written back as SEI; libx264's default, said here
            // because renditions must keep the source's captions. (libx265 in FFmpeg 5.1 has no
            // such option: `LadderTranscoder` writes the SEI of H.265 renditions itself.)
            av_dict_set(&options, "a53cc", "1", 0)
        case .h265: av_dict_set(&options, "x265-params", "scenecut=0:log-level=warning", 0)
        }
        try check(avcodec_open2(context, encoder, &options), "opening \(settings.codec.encoderName)")
    }

    deinit {
        avcodec_free_context(&context)
    }

    /// The parameter sets (VPS/SPS/PPS) as Annex B, from `AV_CODEC_FLAG_GLOBAL_HEADER`.
    var parameterSets: [UInt8] {
        guard let context, let data = context.pointee.extradata else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: Int(context.pointee.extradata_size)))
    }

    /// Encodes one picture (`nil` flushes); `output` gets every packet that became ready.
    func encode(_ frame: Frame?, output: (Packet) throws -> Void) throws {
        var sent = avcodec_send_frame(context, frame?.pointer)
        if sent == FFmpegError.tryAgain {
            try drain(output)
            sent = avcodec_send_frame(context, frame?.pointer)
        }
        if sent != FFmpegError.endOfFile { try check(sent, "encoding a \(settings.width)x\(settings.height) picture") }
        try drain(output)
    }

    private func drain(_ output: (Packet) throws -> Void) throws {
        while true {
            let received = avcodec_receive_packet(context, packet.pointer)
            if received == FFmpegError.tryAgain || received == FFmpegError.endOfFile { return }
            try check(received, "receiving an encoded frame")
            defer { packet.clear() }
            try output(packet)
        }
    }
}
