import CFFmpeg

/// What the pictures of a stream look like going into the graph.
struct PictureFormat: Hashable {
    var width: Int
    var height: Int
    var pixelFormat: Int32
}

/// A watermark as the graph draws it: every value is set as a filter option, never spliced into
/// a filter-graph string, so no text a user types can change the graph.
struct WatermarkLayers {
    struct Text {
        var text: String
        var fontFile: String
        var fontSize: Int
        /// `RRGGBB`.
        var color: String
        var x: Int
        var y: Int
    }

    struct Image {
        /// The decoded picture (PNG or JPEG), drawn scaled to `width`×`height`.
        var picture: Frame
        var width: Int
        var height: Int
        var x: Int
        var y: Int
    }

    var text: Text?
    var image: Image?

    var isEmpty: Bool { text == nil && image == nil }
}

/// Decoded pictures in; for every output size a scaled (and watermarked) picture out, all from
/// one graph: `buffer → [drawtext] → [overlay ← scale ← buffer(image)] → split → scale → format`.
/// The watermark is drawn once, at the source size, before the split.
final class FilterGraph {
    private var graph: UnsafeMutablePointer<AVFilterGraph>?
    private let source: UnsafeMutablePointer<AVFilterContext>
    private let sinks: [UnsafeMutablePointer<AVFilterContext>]

    init(input: PictureFormat, outputs: [(width: Int, height: Int)], watermark: WatermarkLayers) throws {
        guard let graph = avfilter_graph_alloc() else { throw FFmpegError.outOfMemory("avfilter_graph_alloc") }
        self.graph = graph
        let build = GraphBuilder(graph: graph)
        source = try build.filter("buffer", "source", [
            ("width", "\(input.width)"), ("height", "\(input.height)"), ("pix_fmt", "\(input.pixelFormat)"),
            ("time_base", "1/1000"), ("pixel_aspect", "1/1"),
        ])
        var last = source
        if let text = watermark.text {
            let drawtext = try build.filter("drawtext", "text", [
                ("fontfile", text.fontFile), ("text", text.text), ("expansion", "none"),
                ("fontsize", "\(text.fontSize)"), ("fontcolor", "0x" + text.color), ("x", "\(text.x)"), ("y", "\(text.y)"),
            ])
            try build.link(last, 0, drawtext, 0)
            last = drawtext
        }
        if let image = watermark.image {
            let picture = image.picture
            let imageSource = try build.filter("buffer", "image", [
                ("width", "\(picture.width)"), ("height", "\(picture.height)"),
                ("pix_fmt", "\(picture.pointer.pointee.format)"), ("time_base", "1/1000"), ("pixel_aspect", "1/1"),
            ])
            let imageScale = try build.filter("scale", "image_scale", [("w", "\(image.width)"), ("h", "\(image.height)")])
            let overlay = try build.filter("overlay", "overlay", [
                ("x", "\(image.x)"), ("y", "\(image.y)"), ("eof_action", "repeat"), ("format", "auto"),
            ])
            try build.link(imageSource, 0, imageScale, 0)
            try build.link(last, 0, overlay, 0)
            try build.link(imageScale, 0, overlay, 1)
            last = overlay
            // The still picture goes in once, at time zero; the overlay repeats it for every frame.
            picture.pts = 0
            try check(av_buffersrc_add_frame_flags(imageSource, picture.pointer, Int32(AV_BUFFERSRC_FLAG_KEEP_REF)),
                      "feeding the watermark image")
            try check(av_buffersrc_add_frame_flags(imageSource, nil, 0), "closing the watermark image input")
        }
        var branches: [(UnsafeMutablePointer<AVFilterContext>, Int32)] = [(last, 0)]
        if outputs.count > 1 {
            let split = try build.filter("split", "split", [("outputs", "\(outputs.count)")])
            try build.link(last, 0, split, 0)
            branches = (0..<outputs.count).map { (split, Int32($0)) }
        }
        var sinks: [UnsafeMutablePointer<AVFilterContext>] = []
        for (index, (size, branch)) in zip(outputs, branches).enumerated() {
            let scale = try build.filter("scale", "scale\(index)", [("w", "\(size.width)"), ("h", "\(size.height)"),
                                                                   ("flags", "bicubic")])
            let format = try build.filter("format", "format\(index)", [("pix_fmts", "yuv420p")])
            let sink = try build.filter("buffersink", "out\(index)", [])
            try build.link(branch.0, branch.1, scale, 0)
            try build.link(scale, 0, format, 0)
            try build.link(format, 0, sink, 0)
            sinks.append(sink)
        }
        self.sinks = sinks
        try check(avfilter_graph_config(graph, nil), "configuring the filter graph")
    }

    deinit {
        avfilter_graph_free(&graph)
    }

    var outputCount: Int { sinks.count }

    /// Puts one picture in (the graph takes its own reference).
    func push(_ frame: Frame) throws {
        try check(av_buffersrc_add_frame_flags(source, frame.pointer, Int32(AV_BUFFERSRC_FLAG_KEEP_REF)),
                  "feeding the filter graph")
    }

    /// Signals the end of the input, so the outputs can drain.
    func close() throws {
        try check(av_buffersrc_add_frame_flags(source, nil, 0), "closing the filter graph")
    }

    /// The next picture of output `index`, into `frame`; false when none is ready.
    func pull(_ index: Int, into frame: Frame) throws -> Bool {
        let result = av_buffersink_get_frame(sinks[index], frame.pointer)
        if result == FFmpegError.tryAgain || result == FFmpegError.endOfFile { return false }
        try check(result, "reading the filter graph's output \(index)")
        return true
    }
}

/// Adds filters with options set one by one (`av_opt_set`), so values are never parsed as graph
/// syntax.
struct GraphBuilder {
    let graph: UnsafeMutablePointer<AVFilterGraph>

    func filter(_ kind: String, _ name: String, _ options: [(String, String)]) throws -> UnsafeMutablePointer<AVFilterContext> {
        guard let definition = avfilter_get_by_name(kind) else {
            throw FFmpegError("libavfilter has no \(kind) filter", code: FFmpegError.invalid)
        }
        guard let context = avfilter_graph_alloc_filter(graph, definition, name) else {
            throw FFmpegError.outOfMemory("avfilter_graph_alloc_filter")
        }
        for (key, value) in options {
            try check(av_opt_set(context, key, value, AV_OPT_SEARCH_CHILDREN), "setting \(kind) option \(key)")
        }
        try check(avfilter_init_str(context, nil), "initialising the \(kind) filter")
        return context
    }

    func link(_ from: UnsafeMutablePointer<AVFilterContext>, _ output: Int32,
              _ to: UnsafeMutablePointer<AVFilterContext>, _ input: Int32) throws {
        try check(avfilter_link(from, UInt32(output), to, UInt32(input)), "linking filters")
    }
}

/// Decodes a PNG or JPEG file into a picture.
enum StillImage {
    static func decode(_ bytes: [UInt8]) throws -> Frame {
        let id: AVCodecID
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
            id = AV_CODEC_ID_PNG
        } else if bytes.starts(with: [0xFF, 0xD8]) {
            id = AV_CODEC_ID_MJPEG
        } else {
            throw FFmpegError("the watermark image is neither PNG nor JPEG", code: FFmpegError.invalid)
        }
        guard let decoder = avcodec_find_decoder(id) else { throw FFmpegError("no image decoder", code: FFmpegError.invalid) }
        var context = avcodec_alloc_context3(decoder)
        defer { avcodec_free_context(&context) }
        guard context != nil else { throw FFmpegError.outOfMemory("avcodec_alloc_context3") }
        try check(avcodec_open2(context, decoder, nil), "opening the image decoder")
        let packet = try Packet()
        try packet.fill(bytes, pts: 0, dts: 0, keyframe: true)
        try check(avcodec_send_packet(context, packet.pointer), "decoding the watermark image")
        _ = avcodec_send_packet(context, nil)
        let frame = try Frame()
        try check(avcodec_receive_frame(context, frame.pointer), "decoding the watermark image")
        return frame
    }
}
