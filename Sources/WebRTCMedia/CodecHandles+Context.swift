import CFFmpeg

extension CodecHandles {
    /// Owns one opened `AVCodecContext`: an audio decoder or encoder.
    final class Context {
        private var context: UnsafeMutablePointer<AVCodecContext>?
        let pointer: UnsafeMutablePointer<AVCodecContext>

        /// A decoder of `codec` (`AV_CODEC_ID_AAC`, `AV_CODEC_ID_MP3`, `AV_CODEC_ID_OPUS`).
        /// - Parameters:
        ///   - extradata: the codec's configuration (an AudioSpecificConfig for AAC), if it has one.
        ///   - timeBase: the time base of the packets' timestamps.
        ///   - sampleRate, channels: what the stream says, for decoders that read no configuration (Opus).
        static func decoder(_ codec: AVCodecID, extradata: [UInt8] = [], timeBase: AVRational,
                            sampleRate: Int = 0, channels: Int = 0) throws(WebRTCMediaError) -> Context {
            guard let definition = avcodec_find_decoder(codec) else {
                throw WebRTCMediaError("libavcodec has no decoder for codec \(codec.rawValue)")
            }
            let context = try Context(definition)
            let pointer = context.pointer
            pointer.pointee.pkt_timebase = timeBase
            if sampleRate > 0 { pointer.pointee.sample_rate = Int32(clamping: sampleRate) }
            if channels > 0 { av_channel_layout_default(&pointer.pointee.ch_layout, Int32(clamping: channels)) }
            if !extradata.isEmpty {
                guard let raw = av_mallocz(extradata.count + Int(AV_INPUT_BUFFER_PADDING_SIZE)) else {
                    throw WebRTCMediaError("av_mallocz: out of memory")
                }
                raw.bindMemory(to: UInt8.self, capacity: extradata.count).update(from: extradata, count: extradata.count)
                pointer.pointee.extradata = raw.assumingMemoryBound(to: UInt8.self)
                pointer.pointee.extradata_size = Int32(extradata.count)
            }
            try check(avcodec_open2(pointer, definition, nil), "opening the \(String(cString: definition.pointee.name)) decoder")
            return context
        }

        /// libopus at 48 kHz, stereo, interleaved float samples, frames of 20 ms (RFC 7587 §4),
        /// or the 40 or 60 ms asked for; any other length is refused.
        /// - Parameter bitRate: bits per second; 64 000 by default.
        static func opusEncoder(bitRate: Int = 64_000, frameMilliseconds: Int = 20) throws(WebRTCMediaError) -> Context {
            guard [20, 40, 60].contains(frameMilliseconds) else {
                throw WebRTCMediaError("Opus frames of \(frameMilliseconds) ms: 20, 40 or 60")
            }
            guard let definition = avcodec_find_encoder_by_name("libopus") else {
                throw WebRTCMediaError("libavcodec has no libopus encoder")
            }
            let context = try Context(definition)
            let pointer = context.pointer
            pointer.pointee.sample_rate = 48_000
            pointer.pointee.sample_fmt = AV_SAMPLE_FMT_FLT
            av_channel_layout_default(&pointer.pointee.ch_layout, 2)
            pointer.pointee.bit_rate = Int64(bitRate)
            pointer.pointee.time_base = AVRational(num: 1, den: 48_000)
            var options: OpaquePointer?
            av_dict_set(&options, "frame_duration", "\(frameMilliseconds)", 0)
            defer { av_dict_free(&options) }
            try check(avcodec_open2(pointer, definition, &options), "opening the libopus encoder")
            return context
        }

        private init(_ definition: UnsafePointer<AVCodec>) throws(WebRTCMediaError) {
            guard let context = avcodec_alloc_context3(definition) else {
                throw WebRTCMediaError("avcodec_alloc_context3: out of memory")
            }
            self.context = context
            pointer = context
        }

        deinit { avcodec_free_context(&context) }

        /// Samples per frame the encoder takes (960 for 20 ms of Opus at 48 kHz).
        var frameSize: Int { Int(pointer.pointee.frame_size) }

        /// Sends one packet (nil: drain) to a decoder, and hands each frame it gives back to `body`.
        func decode(_ packet: Packet?, into frame: Frame, _ body: (Frame) throws(WebRTCMediaError) -> Void) throws(WebRTCMediaError) {
            let sent = avcodec_send_packet(pointer, packet?.pointer)
            if sent != CodecHandles.endOfFile { try check(sent, "decoding audio") }
            while true {
                let received = avcodec_receive_frame(pointer, frame.pointer)
                if received == CodecHandles.tryAgain || received == CodecHandles.endOfFile { return }
                try check(received, "receiving decoded audio")
                defer { frame.clear() }
                try body(frame)
            }
        }

        /// Sends one frame to an encoder, and hands each packet it gives back to `body`.
        func encode(_ frame: Frame, into packet: Packet, _ body: (Packet) throws(WebRTCMediaError) -> Void) throws(WebRTCMediaError) {
            try check(avcodec_send_frame(pointer, frame.pointer), "encoding audio")
            while true {
                let received = avcodec_receive_packet(pointer, packet.pointer)
                if received == CodecHandles.tryAgain || received == CodecHandles.endOfFile { return }
                try check(received, "receiving encoded audio")
                defer { packet.clear() }
                try body(packet)
            }
        }
    }
}
