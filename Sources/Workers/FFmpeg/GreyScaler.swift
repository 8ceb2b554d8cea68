import CFFmpeg

/// Scales pictures down to small grey (luma) images for comparing them, with swscale.
final class GreyScaler {
    let width: Int
    let height: Int
    private var context: OpaquePointer?
    private let grey: Frame

    init(width: Int = 160, height: Int = 90) throws {
        self.width = width
        self.height = height
        grey = try Frame()
    }

    deinit {
        sws_freeContext(context)
    }

    /// `width`×`height` luma bytes, row by row.
    func luma(of picture: Frame) throws -> [UInt8] {
        grey.clear()
        grey.pointer.pointee.width = Int32(width)
        grey.pointer.pointee.height = Int32(height)
        grey.pointer.pointee.format = AV_PIX_FMT_GRAY8.rawValue
        try check(av_frame_get_buffer(grey.pointer, 0), "allocating a grey picture")
        context = sws_getCachedContext(context, Int32(picture.width), Int32(picture.height), picture.pixelFormat,
                                       Int32(width), Int32(height), AV_PIX_FMT_GRAY8, SWS_AREA, nil, nil, nil)
        guard context != nil else { throw FFmpegError("no scaler for this picture", code: FFmpegError.invalid) }
        try check(sws_scale_frame(context, grey.pointer, picture.pointer), "scaling to grey")
        guard let plane = grey.pointer.pointee.data.0 else { return [] }
        let stride = Int(grey.pointer.pointee.linesize.0)
        var bytes = [UInt8]()
        bytes.reserveCapacity(width * height)
        for row in 0..<height {
            bytes.append(contentsOf: UnsafeBufferPointer(start: plane + row * stride, count: width))
        }
        return bytes
    }
}
