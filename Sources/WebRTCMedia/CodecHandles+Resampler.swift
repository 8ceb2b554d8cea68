import CFFmpeg

extension CodecHandles {
    /// Owns one `SwrContext` converting decoded audio to 48 kHz stereo interleaved float, what the
    /// Opus encoder takes.
    final class Resampler {
        private var context: OpaquePointer?
        /// What the input frames are; a frame that differs needs another resampler.
        let inputRate: Int
        let inputChannels: Int
        let inputFormat: Int32
        private let output: Frame

        static let outputRate = 48_000
        static let outputChannels = 2

        init(for frame: Frame) throws(WebRTCMediaError) {
            inputRate = frame.sampleRate
            inputChannels = frame.channelCount
            inputFormat = frame.pointer.pointee.format
            guard inputRate > 0, (1...8).contains(inputChannels) else {
                throw WebRTCMediaError("decoded audio has \(inputChannels) channels at \(inputRate) Hz")
            }
            var outputLayout = AVChannelLayout()
            av_channel_layout_default(&outputLayout, Int32(Self.outputChannels))
            let made = swr_alloc_set_opts2(&context, &outputLayout, AV_SAMPLE_FMT_FLT, Int32(Self.outputRate),
                                           &frame.pointer.pointee.ch_layout, AVSampleFormat(rawValue: inputFormat),
                                           Int32(inputRate), 0, nil)
            try check(made, "setting up the resampler")
            try check(swr_init(context), "starting the resampler")
            output = try Frame()
        }

        deinit { swr_free(&context) }

        /// Whether `frame` has the rate, channels and format this resampler was made for.
        func accepts(_ frame: Frame) -> Bool {
            frame.sampleRate == inputRate && frame.channelCount == inputChannels && frame.pointer.pointee.format == inputFormat
        }

        /// Converts `frame` and appends the interleaved samples (left, right, left, …) to `samples`.
        func convert(_ frame: Frame, appendingTo samples: inout [Float]) throws(WebRTCMediaError) {
            output.clear()
            av_channel_layout_default(&output.pointer.pointee.ch_layout, Int32(Self.outputChannels))
            output.pointer.pointee.sample_rate = Int32(Self.outputRate)
            output.pointer.pointee.format = AV_SAMPLE_FMT_FLT.rawValue
            try check(swr_convert_frame(context, output.pointer, frame.pointer), "resampling audio")
            let count = output.sampleCount * Self.outputChannels
            guard count > 0, let data = output.pointer.pointee.data.0 else { return }
            data.withMemoryRebound(to: Float.self, capacity: count) { samples.append(contentsOf: UnsafeBufferPointer(start: $0, count: count)) }
        }
    }
}
