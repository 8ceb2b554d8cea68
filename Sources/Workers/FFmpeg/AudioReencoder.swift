import CFFmpeg
import Media

/// Re-encodes a stream's audio to AAC-LC, for sources whose audio is not AAC (MP3 in FLV):
/// decoder → `abuffer → aresample → aformat → abuffersink` (frames of exactly the encoder's size)
/// → libavcodec's AAC encoder. Timestamps in milliseconds. Single-owner, like the video side.
final class AudioReencoder {
    private var decoder: UnsafeMutablePointer<AVCodecContext>?
    private var encoder: UnsafeMutablePointer<AVCodecContext>?
    private var graph: UnsafeMutablePointer<AVFilterGraph>?
    private var source: UnsafeMutablePointer<AVFilterContext>?
    private var sink: UnsafeMutablePointer<AVFilterContext>?
    private let packet: Packet
    private let decoded: Frame
    private let filtered: Frame
    /// The encoder's AudioSpecificConfig, once it is open.
    private(set) var audioSpecificConfig: [UInt8]?

    static let bitRate = 128_000

    init(codec: AudioCodec) throws {
        guard codec == .mp3, let definition = avcodec_find_decoder(AV_CODEC_ID_MP3) else {
            throw FFmpegError("no decoder for \(codec.rawValue) audio", code: FFmpegError.invalid)
        }
        decoder = avcodec_alloc_context3(definition)
        guard let decoder else { throw FFmpegError.outOfMemory("avcodec_alloc_context3") }
        decoder.pointee.pkt_timebase = millisecondTimeBase
        try check(avcodec_open2(decoder, definition, nil), "opening the \(codec.rawValue) decoder")
        packet = try Packet()
        decoded = try Frame()
        filtered = try Frame()
    }

    deinit {
        avcodec_free_context(&decoder)
        avcodec_free_context(&encoder)
        avfilter_graph_free(&graph)
    }

    /// One coded audio frame in (the FLV body after its one-byte header); AAC frames out, each
    /// with its presentation time in milliseconds.
    func reencode<Bytes: Collection<UInt8>>(_ data: Bytes, pts: Int64, output: ([UInt8], Int64) throws -> Void) throws {
        try packet.fill(data, pts: pts, dts: pts, keyframe: true)
        defer { packet.clear() }
        try check(avcodec_send_packet(decoder, packet.pointer), "decoding audio")
        while true {
            let received = avcodec_receive_frame(decoder, decoded.pointer)
            if received == FFmpegError.tryAgain || received == FFmpegError.endOfFile { return }
            try check(received, "receiving decoded audio")
            defer { decoded.clear() }
            decoded.pts = decoded.pointer.pointee.best_effort_timestamp
            if graph == nil { try open(for: decoded) }
            try check(av_buffersrc_add_frame_flags(source, decoded.pointer, Int32(AV_BUFFERSRC_FLAG_KEEP_REF)), "resampling audio")
            while av_buffersink_get_frame(sink, filtered.pointer) >= 0 {
                defer { filtered.clear() }
                try encode(filtered, output: output)
            }
        }
    }

    private func encode(_ frame: Frame, output: ([UInt8], Int64) throws -> Void) throws {
        try check(avcodec_send_frame(encoder, frame.pointer), "encoding AAC")
        while true {
            let received = avcodec_receive_packet(encoder, packet.pointer)
            if received == FFmpegError.tryAgain || received == FFmpegError.endOfFile { return }
            try check(received, "receiving AAC")
            defer { packet.clear() }
            try output(Array(packet.bytes), packet.pts)
        }
    }

    /// The encoder at the source's rate (48 kHz when AAC has no such rate) and at most two
    /// channels, and the graph that feeds it frames of its size.
    private func open(for frame: Frame) throws {
        guard let definition = avcodec_find_encoder(AV_CODEC_ID_AAC) else {
            throw FFmpegError("no AAC encoder in libavcodec", code: FFmpegError.invalid)
        }
        encoder = avcodec_alloc_context3(definition)
        guard let encoder else { throw FFmpegError.outOfMemory("avcodec_alloc_context3") }
        let inputRate = Int(frame.pointer.pointee.sample_rate)
        let rate = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000].contains(inputRate)
            ? inputRate : 48000
        let channels = min(2, max(1, Int(frame.pointer.pointee.ch_layout.nb_channels)))
        encoder.pointee.sample_rate = Int32(rate)
        encoder.pointee.sample_fmt = AV_SAMPLE_FMT_FLTP
        av_channel_layout_default(&encoder.pointee.ch_layout, Int32(channels))
        encoder.pointee.bit_rate = Int64(Self.bitRate)
        encoder.pointee.time_base = millisecondTimeBase
        encoder.pointee.flags |= Int32(AV_CODEC_FLAG_GLOBAL_HEADER)
        try check(avcodec_open2(encoder, definition, nil), "opening the AAC encoder")
        if let extradata = encoder.pointee.extradata {
            audioSpecificConfig = Array(UnsafeBufferPointer(start: extradata, count: Int(encoder.pointee.extradata_size)))
        }

        guard let graph = avfilter_graph_alloc() else { throw FFmpegError.outOfMemory("avfilter_graph_alloc") }
        self.graph = graph
        var inputLayout = [CChar](repeating: 0, count: 64)
        _ = av_channel_layout_describe(&frame.pointer.pointee.ch_layout, &inputLayout, inputLayout.count)
        var outputLayout = [CChar](repeating: 0, count: 64)
        _ = av_channel_layout_describe(&encoder.pointee.ch_layout, &outputLayout, outputLayout.count)
        let build = GraphBuilder(graph: graph)
        let sampleFormat = String(cString: av_get_sample_fmt_name(AVSampleFormat(rawValue: frame.pointer.pointee.format)))
        let source = try build.filter("abuffer", "source", [
            ("time_base", "1/1000"), ("sample_rate", "\(inputRate)"), ("sample_fmt", sampleFormat),
            ("channel_layout", Self.text(inputLayout)),
        ])
        let resample = try build.filter("aresample", "resample", [("out_sample_rate", "\(rate)")])
        let format = try build.filter("aformat", "format", [
            ("sample_fmts", "fltp"), ("sample_rates", "\(rate)"), ("channel_layouts", Self.text(outputLayout)),
        ])
        let sink = try build.filter("abuffersink", "sink", [])
        try build.link(source, 0, resample, 0)
        try build.link(resample, 0, format, 0)
        try build.link(format, 0, sink, 0)
        try check(avfilter_graph_config(graph, nil), "configuring the audio graph")
        av_buffersink_set_frame_size(sink, UInt32(encoder.pointee.frame_size))
        self.source = source
        self.sink = sink
    }

    private static func text(_ characters: [CChar]) -> String {
        String(decoding: characters.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
