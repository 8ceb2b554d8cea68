import CFFmpeg

// The libavcodec and libswresample handles `OpusToAAC` works with: each owned by one final
// class that frees it in `deinit`. None is thread-safe: they belong to the `OpusToAAC` that made
// them, which runs on one `OwnerThread`.
extension OpusToAAC {
    /// Owns one `AVCodecContext`.
    final class CodecContext {
        let pointer: UnsafeMutablePointer<AVCodecContext>

        init(_ codec: UnsafePointer<AVCodec>) throws(WebRTCMediaError) {
            guard let context = avcodec_alloc_context3(codec) else { throw OpusToAAC.outOfMemory("avcodec_alloc_context3") }
            pointer = context
        }

        deinit {
            var context: UnsafeMutablePointer<AVCodecContext>? = pointer
            avcodec_free_context(&context)
        }

        func open(_ codec: UnsafePointer<AVCodec>, _ operation: String) throws(WebRTCMediaError) {
            try OpusToAAC.check(avcodec_open2(pointer, codec, nil), operation)
        }
    }

    /// Owns one `AVFrame`.
    final class FrameHandle {
        let pointer: UnsafeMutablePointer<AVFrame>

        init() throws(WebRTCMediaError) {
            guard let frame = av_frame_alloc() else { throw OpusToAAC.outOfMemory("av_frame_alloc") }
            pointer = frame
        }

        deinit {
            var frame: UnsafeMutablePointer<AVFrame>? = pointer
            av_frame_free(&frame)
        }

        var sampleCount: Int { Int(pointer.pointee.nb_samples) }
        var channelCount: Int { Int(pointer.pointee.ch_layout.nb_channels) }

        /// Samples of plane `channel` of a planar float frame (AV_SAMPLE_FMT_FLTP).
        func floats(channel: Int) -> UnsafeBufferPointer<Float> {
            guard channel < channelCount, let plane = pointer.pointee.extended_data[channel] else { return .init(start: nil, count: 0) }
            return UnsafeBufferPointer(start: UnsafeRawPointer(plane).assumingMemoryBound(to: Float.self), count: sampleCount)
        }

        func clear() { av_frame_unref(pointer) }
    }

    /// Owns one `AVPacket`.
    final class PacketHandle {
        let pointer: UnsafeMutablePointer<AVPacket>

        init() throws(WebRTCMediaError) {
            guard let packet = av_packet_alloc() else { throw OpusToAAC.outOfMemory("av_packet_alloc") }
            pointer = packet
        }

        deinit {
            var packet: UnsafeMutablePointer<AVPacket>? = pointer
            av_packet_free(&packet)
        }

        /// Replaces the packet's data with a copy of `bytes` (libavcodec wants its own padded buffer).
        func fill<Bytes: Collection<UInt8>>(_ bytes: Bytes, pts: Int64) throws(WebRTCMediaError) {
            av_packet_unref(pointer)
            try OpusToAAC.check(av_new_packet(pointer, Int32(bytes.count)), "av_new_packet")
            if bytes.count > 0 {
                _ = UnsafeMutableBufferPointer(start: pointer.pointee.data, count: bytes.count).initialize(fromContentsOf: bytes)
            }
            pointer.pointee.pts = pts
            pointer.pointee.dts = pts
        }

        var bytes: [UInt8] { Array(UnsafeBufferPointer(start: pointer.pointee.data, count: Int(pointer.pointee.size))) }
        var pts: Int64 { pointer.pointee.pts }

        func clear() { av_packet_unref(pointer) }
    }

    /// Owns one `SwrContext`: converts decoded audio of another layout, format or rate to the
    /// encoder's (48 kHz stereo planar float).
    final class Resampler {
        private var pointer: OpaquePointer?
        /// What it converts from: a frame of another shape needs a new resampler.
        let input: (format: Int32, channels: Int32, rate: Int32)

        init(from frame: FrameHandle, to encoder: CodecContext) throws(WebRTCMediaError) {
            let source = frame.pointer
            input = (source.pointee.format, source.pointee.ch_layout.nb_channels, source.pointee.sample_rate)
            let made = swr_alloc_set_opts2(&pointer, &encoder.pointer.pointee.ch_layout, encoder.pointer.pointee.sample_fmt,
                                           encoder.pointer.pointee.sample_rate, &source.pointee.ch_layout,
                                           AVSampleFormat(rawValue: source.pointee.format), source.pointee.sample_rate, 0, nil)
            try OpusToAAC.check(made, "swr_alloc_set_opts2")
            try OpusToAAC.check(swr_init(pointer), "swr_init")
        }

        deinit { swr_free(&pointer) }

        func matches(_ frame: FrameHandle) -> Bool {
            let source = frame.pointer.pointee
            return input == (source.format, source.ch_layout.nb_channels, source.sample_rate)
        }

        /// Converts `frame` into `output` (whose format, layout and rate are set; its buffers are allocated here).
        func convert(_ frame: FrameHandle, into output: FrameHandle) throws(WebRTCMediaError) {
            try OpusToAAC.check(swr_convert_frame(pointer, output.pointer, frame.pointer), "resampling audio")
        }
    }

    /// `av_strerror`'s text for an error code.
    static func text(for code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 128)
        av_strerror(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Throws for libav's negative return codes, with what was being done and libav's words.
    @discardableResult
    static func check(_ code: Int32, _ operation: @autoclosure () -> String) throws(WebRTCMediaError) -> Int32 {
        guard code >= 0 else { throw WebRTCMediaError("\(operation()): \(text(for: code))") }
        return code
    }

    static func outOfMemory(_ operation: String) -> WebRTCMediaError {
        WebRTCMediaError("\(operation): out of memory")
    }
}
