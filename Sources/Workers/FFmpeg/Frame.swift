import CFFmpeg

/// Owns one `AVFrame`. Not thread-safe: it belongs to the pipeline that made it.
final class Frame {
    let pointer: UnsafeMutablePointer<AVFrame>

    init() throws {
        guard let frame = av_frame_alloc() else { throw FFmpegError.outOfMemory("av_frame_alloc") }
        pointer = frame
    }

    deinit {
        var frame: UnsafeMutablePointer<AVFrame>? = pointer
        av_frame_free(&frame)
    }

    var width: Int { Int(pointer.pointee.width) }
    var height: Int { Int(pointer.pointee.height) }
    var pixelFormat: AVPixelFormat { AVPixelFormat(rawValue: pointer.pointee.format) }

    /// Presentation time in the owner's time base (milliseconds throughout Sluice).
    var pts: Int64 {
        get { pointer.pointee.pts }
        set { pointer.pointee.pts = newValue }
    }

    /// The ATSC A/53 `cc_data` triples the decoder found in the picture's SEI
    /// (`AV_FRAME_DATA_A53_CC`); filters copy side data to the pictures they make.
    var closedCaptionData: [UInt8]? {
        guard let side = av_frame_get_side_data(pointer, AV_FRAME_DATA_A53_CC), let data = side.pointee.data,
              side.pointee.size > 0 else { return nil }
        return Array(UnsafeBufferPointer(start: data, count: Int(side.pointee.size)))
    }

    /// Drops the picture this frame refers to, keeping the frame for reuse.
    func clear() {
        av_frame_unref(pointer)
    }
}

/// Owns one `AVPacket`.
final class Packet {
    let pointer: UnsafeMutablePointer<AVPacket>

    init() throws {
        guard let packet = av_packet_alloc() else { throw FFmpegError.outOfMemory("av_packet_alloc") }
        pointer = packet
    }

    deinit {
        var packet: UnsafeMutablePointer<AVPacket>? = pointer
        av_packet_free(&packet)
    }

    /// Replaces the packet's data with a copy of `bytes` (FFmpeg needs its own padded buffer).
    func fill<Bytes: Collection<UInt8>>(_ bytes: Bytes, pts: Int64, dts: Int64, keyframe: Bool) throws {
        av_packet_unref(pointer)
        try check(av_new_packet(pointer, Int32(bytes.count)), "av_new_packet")
        let destination = UnsafeMutableBufferPointer(start: pointer.pointee.data, count: bytes.count)
        _ = destination.initialize(fromContentsOf: bytes)
        pointer.pointee.pts = pts
        pointer.pointee.dts = dts
        pointer.pointee.flags = keyframe ? AV_PKT_FLAG_KEY : 0
    }

    var bytes: UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: pointer.pointee.data, count: Int(pointer.pointee.size))
    }

    var pts: Int64 { pointer.pointee.pts }
    var dts: Int64 { pointer.pointee.dts }
    var isKeyframe: Bool { pointer.pointee.flags & AV_PKT_FLAG_KEY != 0 }

    func clear() {
        av_packet_unref(pointer)
    }
}

/// Copies bytes into a buffer allocated by `av_mallocz` with FFmpeg's input padding, as
/// `extradata` must be.
func paddedCopy(_ bytes: [UInt8]) throws -> UnsafeMutablePointer<UInt8> {
    guard let raw = av_mallocz(bytes.count + Int(AV_INPUT_BUFFER_PADDING_SIZE)) else {
        throw FFmpegError.outOfMemory("av_mallocz")
    }
    let pointer = raw.bindMemory(to: UInt8.self, capacity: bytes.count)
    pointer.update(from: bytes, count: bytes.count)
    return pointer
}

/// Milliseconds: the time base of every timestamp Sluice hands to FFmpeg.
let millisecondTimeBase = AVRational(num: 1, den: 1000)
