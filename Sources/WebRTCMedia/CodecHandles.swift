import CFFmpeg

/// Sluice's small owners of libavcodec / libswresample handles for WHEP's audio (AAC or MP3 in,
/// Opus out). Each C handle has one `final class` that frees it in `deinit`; none is thread-safe:
/// they belong to the codec thread that made them (`OpusEncoderBridge`). Failures carry
/// `av_strerror`'s text.
enum CodecHandles {
    /// Throws for FFmpeg's negative return codes; passes the others through.
    @discardableResult
    static func check(_ code: Int32, _ operation: @autoclosure () -> String) throws(WebRTCMediaError) -> Int32 {
        guard code >= 0 else { throw WebRTCMediaError("\(operation()): \(errorText(code))") }
        return code
    }

    /// `av_strerror`'s text for an error code.
    static func errorText(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 128)
        av_strerror(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static let endOfFile = sluice_averror_eof()
    static let tryAgain = sluice_averror_eagain()

    /// Owns one `AVFrame`.
    final class Frame {
        let pointer: UnsafeMutablePointer<AVFrame>

        init() throws(WebRTCMediaError) {
            guard let frame = av_frame_alloc() else { throw WebRTCMediaError("av_frame_alloc: out of memory") }
            pointer = frame
        }

        deinit {
            var frame: UnsafeMutablePointer<AVFrame>? = pointer
            av_frame_free(&frame)
        }

        var sampleCount: Int { Int(pointer.pointee.nb_samples) }
        var sampleRate: Int { Int(pointer.pointee.sample_rate) }
        var channelCount: Int { Int(pointer.pointee.ch_layout.nb_channels) }

        /// Drops the samples this frame refers to, keeping the frame for reuse.
        func clear() { av_frame_unref(pointer) }
    }

    /// Owns one `AVPacket`.
    final class Packet {
        let pointer: UnsafeMutablePointer<AVPacket>

        init() throws(WebRTCMediaError) {
            guard let packet = av_packet_alloc() else { throw WebRTCMediaError("av_packet_alloc: out of memory") }
            pointer = packet
        }

        deinit {
            var packet: UnsafeMutablePointer<AVPacket>? = pointer
            av_packet_free(&packet)
        }

        /// Replaces the packet's data with a copy of `bytes` (FFmpeg wants its own padded buffer).
        func fill(_ bytes: UnsafeRawBufferPointer, pts: Int64) throws(WebRTCMediaError) {
            av_packet_unref(pointer)
            guard let size = Int32(exactly: bytes.count) else { throw WebRTCMediaError("a packet of \(bytes.count) bytes") }
            try check(av_new_packet(pointer, size), "av_new_packet")
            if let base = bytes.baseAddress, bytes.count > 0 {
                pointer.pointee.data.update(from: base.assumingMemoryBound(to: UInt8.self), count: bytes.count)
            }
            pointer.pointee.pts = pts
            pointer.pointee.dts = pts
        }

        var bytes: [UInt8] { Array(UnsafeBufferPointer(start: pointer.pointee.data, count: Int(pointer.pointee.size))) }
        var pts: Int64 { pointer.pointee.pts }
        var duration: Int64 { pointer.pointee.duration }

        func clear() { av_packet_unref(pointer) }
    }
}
