import CFFmpeg
import Foundation

/// A grid of thumbnails in one full-range 4:2:0 picture: each decoded picture is scaled by
/// swscale straight into its cell (no intermediate copy), cells not yet filled stay black, and
/// the whole sheet is encoded as one JPEG (`JPEGEncoder`). Not thread-safe: it belongs to the
/// snapshot thread of one stream.
final class SpriteSheet {
    let columns: Int
    let rows: Int
    let tileWidth: Int
    let tileHeight: Int
    private let sheet: Frame
    private var scaler: OpaquePointer?
    private var encoder: JPEGEncoder?

    var width: Int { columns * tileWidth }
    var height: Int { rows * tileHeight }

    /// Tile sizes must be even (4:2:0 chroma is half of each): the layout makes them so.
    init(columns: Int, rows: Int, tileWidth: Int, tileHeight: Int) throws {
        guard columns > 0, rows > 0, tileWidth > 1, tileHeight > 1, tileWidth % 2 == 0, tileHeight % 2 == 0,
              columns * tileWidth <= 8192, rows * tileHeight <= 8192 else {
            throw FFmpegError("sprite of \(columns)×\(rows) tiles of \(tileWidth)×\(tileHeight)", code: FFmpegError.invalid)
        }
        self.columns = columns
        self.rows = rows
        self.tileWidth = tileWidth
        self.tileHeight = tileHeight
        sheet = try Frame()
        sheet.pointer.pointee.width = Int32(columns * tileWidth)
        sheet.pointer.pointee.height = Int32(rows * tileHeight)
        sheet.pointer.pointee.format = AV_PIX_FMT_YUVJ420P.rawValue
        try check(av_frame_get_buffer(sheet.pointer, 0), "allocating a sprite")
        clear()
    }

    deinit {
        sws_freeContext(scaler)
    }

    /// Every cell black.
    func clear() {
        try? check(av_frame_make_writable(sheet.pointer), "making a sprite writable")
        let frame = sheet.pointer.pointee
        let planes = [(frame.data.0, frame.linesize.0, height, UInt8(0)), (frame.data.1, frame.linesize.1, height / 2, UInt8(128)),
                      (frame.data.2, frame.linesize.2, height / 2, UInt8(128))]
        for (plane, stride, lines, value) in planes {
            guard let plane else { continue }
            plane.update(repeating: value, count: Int(stride) * lines)
        }
    }

    /// Scales `picture` into cell `index` (row-major; out-of-range indexes are ignored).
    func place(_ picture: Frame, at index: Int) throws {
        guard (0..<(columns * rows)).contains(index), picture.width > 0, picture.height > 0 else { return }
        try check(av_frame_make_writable(sheet.pointer), "making a sprite writable")
        scaler = sws_getCachedContext(scaler, Int32(picture.width), Int32(picture.height), picture.pixelFormat,
                                      Int32(tileWidth), Int32(tileHeight), AV_PIX_FMT_YUVJ420P, SWS_AREA, nil, nil, nil)
        guard scaler != nil else { throw FFmpegError("no scaler for this picture", code: FFmpegError.invalid) }
        let x = index % columns * tileWidth, y = index / columns * tileHeight
        let source = picture.pointer.pointee, target = sheet.pointer.pointee
        let sourcePlanes: [UnsafePointer<UInt8>?] = [source.data.0, source.data.1, source.data.2, source.data.3].map { $0.map { UnsafePointer($0) } }
        let sourceStrides = [source.linesize.0, source.linesize.1, source.linesize.2, source.linesize.3]
        let cell: [UnsafeMutablePointer<UInt8>?] = [target.data.0.map { $0 + y * Int(target.linesize.0) + x },
                                                    target.data.1.map { $0 + y / 2 * Int(target.linesize.1) + x / 2 },
                                                    target.data.2.map { $0 + y / 2 * Int(target.linesize.2) + x / 2 }, nil]
        let cellStrides = [target.linesize.0, target.linesize.1, target.linesize.2, 0]
        let lines = sws_scale(scaler, sourcePlanes, sourceStrides, 0, Int32(picture.height), cell, cellStrides)
        guard lines > 0 else { throw FFmpegError("scaling a thumbnail", code: lines) }
    }

    /// The sheet as a JPEG file.
    func jpeg() throws -> Data {
        if encoder == nil { encoder = try JPEGEncoder(width: width, height: height) }
        guard let encoder else { return Data() }
        return try encoder.encode(sheet)
    }
}
