import CFFmpeg
import Foundation

/// Encodes pictures as JPEG with FFmpeg's mjpeg encoder (full-range 4:2:0, fixed quality),
/// converting the pixel format first. One encoder per picture size.
final class JPEGEncoder {
    private var context: UnsafeMutablePointer<AVCodecContext>?
    private var scaler: OpaquePointer?
    private let converted: Frame
    private let packet: Packet
    let width: Int
    let height: Int

    /// - Parameter quality: mjpeg's qscale, 2 (best) to 31; 4 is good for thumbnails and stills.
    init(width: Int, height: Int, quality: Int = 4) throws {
        guard let encoder = avcodec_find_encoder(AV_CODEC_ID_MJPEG) else {
            throw FFmpegError("no mjpeg encoder in libavcodec", code: FFmpegError.invalid)
        }
        context = avcodec_alloc_context3(encoder)
        guard let context else { throw FFmpegError.outOfMemory("avcodec_alloc_context3") }
        self.width = width
        self.height = height
        context.pointee.width = Int32(width)
        context.pointee.height = Int32(height)
        context.pointee.pix_fmt = AV_PIX_FMT_YUVJ420P
        context.pointee.time_base = millisecondTimeBase
        context.pointee.flags |= Int32(AV_CODEC_FLAG_QSCALE)
        context.pointee.global_quality = Int32(quality) * FF_QP2LAMBDA
        try check(avcodec_open2(context, encoder, nil), "opening the mjpeg encoder")
        converted = try Frame()
        packet = try Packet()
    }

    deinit {
        avcodec_free_context(&context)
        sws_freeContext(scaler)
    }

    /// The picture as a JPEG file.
    func encode(_ picture: Frame) throws -> Data {
        converted.clear()
        converted.pointer.pointee.width = Int32(width)
        converted.pointer.pointee.height = Int32(height)
        converted.pointer.pointee.format = AV_PIX_FMT_YUVJ420P.rawValue
        try check(av_frame_get_buffer(converted.pointer, 0), "allocating a picture")
        scaler = sws_getCachedContext(scaler, Int32(picture.width), Int32(picture.height), picture.pixelFormat,
                                      Int32(width), Int32(height), AV_PIX_FMT_YUVJ420P, SWS_BICUBIC, nil, nil, nil)
        guard scaler != nil else { throw FFmpegError("no scaler for this picture", code: FFmpegError.invalid) }
        try check(sws_scale_frame(scaler, converted.pointer, picture.pointer), "converting the picture")
        converted.pts = picture.pts
        try check(avcodec_send_frame(context, converted.pointer), "encoding a JPEG")
        try check(avcodec_receive_packet(context, packet.pointer), "receiving a JPEG")
        defer { packet.clear() }
        return Data(packet.bytes)
    }
}
