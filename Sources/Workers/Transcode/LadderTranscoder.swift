import CFFmpeg
import Events
import Media
import NIOCore

/// Turns one stream's source frames into its rendition frames: decode once, draw the watermark
/// once, scale to every rendition, encode each. Synchronous and single-owner: `StreamTranscoder`
/// runs it on a thread of its own.
///
/// Rendition frames keep the source's timestamps and session, and carry the sequence number and
/// timeline stamp of the source frame they came from, so the same source frame always yields the
/// same rendition frame identity, and every rendition's segments are the source's (same numbers,
/// same boundaries: players switch renditions at any segment). Keyframes fall exactly where the
/// source has them, in every rendition.
/// Audio is passed through to every rendition, held back until video has caught up with it so
/// each rendition stays interleaved.
public final class LadderTranscoder {
    private struct Pipeline {
        var input: PictureFormat
        var graph: FilterGraph
        var encoders: [VideoEncoder]
        var renditions: [RenditionSpec]
    }

    public private(set) var settings: TranscodeSettings
    private let sessionID: UInt64
    private var watermarkImage: Frame?
    /// Renditions of the pipeline a reconfiguration closed, until the next one is built (which
    /// ends those it no longer has).
    private var closedRenditions: [RenditionSpec] = []
    private var decoder: VideoDecoder?
    private var decoderConfiguration: [UInt8] = []
    private var sourceCodec = VideoCodec.h264
    private var awaitingKeyframe = true
    private var pipeline: Pipeline?
    private let decoded: Frame
    private let filtered: Frame
    /// Source keyframe timestamps whose pictures are still inside the decoder or the graph.
    private var keyframes: Set<Int64> = []
    /// What a rendition frame takes from its source frame.
    private struct SourceFrame {
        var sequence: UInt64
        var timeline: MediaTimeline?
        var startsSegment: Bool
    }

    /// Source frames by presentation time, for the frames in flight.
    private var sources: [Int64: SourceFrame] = [:]
    /// Closed captions of the pictures in the H.265 encoders, by presentation time: libx265
    /// does not write the A/53 side data libx264 does (`a53cc`), so `emit` adds the SEI.
    private var captions: [Int64: [UInt8]] = [:]
    private var declaredFrameRate: Double?
    private var audioHeader: MediaFrame?
    private var audioReencoder: AudioReencoder?
    private var audioRefused = false
    private var heldAudio: [MediaFrame] = []
    private var latestVideoDTS = Int64.min
    private var output: [MediaFrame] = []

    /// Renditions now being produced.
    public var renditions: [RenditionSpec] { pipeline?.renditions ?? [] }

    public init(settings: TranscodeSettings, sessionID: UInt64) throws {
        FFmpegLog.install
        self.settings = settings
        self.sessionID = sessionID
        decoded = try Frame()
        filtered = try Frame()
        loadWatermarkImage()
    }

    /// Decodes the settings' watermark image, if they draw one.
    private func loadWatermarkImage() {
        watermarkImage = nil
        imageProblem = nil
        guard settings.watermark.image != nil else { return }
        do {
            watermarkImage = try StillImage.decode(settings.watermark.imageBytes)
        } catch {
            // The text (if any) is still drawn; the stream is not held back by a bad upload.
            imageProblem = "watermark image not drawn: \(error)"
        }
    }

    /// Why the uploaded watermark image is not drawn, if it is not.
    public private(set) var imageProblem: String?

    /// Takes one source frame; returns the rendition frames it completed (often those of an
    /// earlier frame). A frame that cannot be decoded throws and is skipped; the stream goes on.
    public func push(_ frame: MediaFrame) throws -> [MediaFrame] {
        output.removeAll(keepingCapacity: true)
        switch frame.kind {
        case .video: try video(frame)
        case .audio: try audio(frame)
        case .metadata: declaredFrameRate = Self.frameRate(inMetadata: frame.payload) ?? declaredFrameRate
        case .end: break
        }
        return output
    }

    /// Takes new settings (a channel changed while live), just before a source keyframe: what
    /// the decoder, the graph and the encoders hold goes out, and the next picture builds the
    /// new pipeline, which ends the renditions the settings no longer have and begins new ones
    /// with their headers; renditions kept go on, on the same timeline. Returns the frames drained.
    public func reconfigure(_ settings: TranscodeSettings) -> [MediaFrame] {
        output.removeAll(keepingCapacity: true)
        try? decoder?.flush(into: decoded) { try self.filter($0) }
        drainPipeline()
        closedRenditions = pipeline?.renditions ?? closedRenditions
        pipeline = nil
        let imageChanged = settings.watermark.imageBytes != self.settings.watermark.imageBytes
            || (settings.watermark.image == nil) != (self.settings.watermark.image == nil)
        self.settings = settings
        if imageChanged { loadWatermarkImage() }
        decoder?.reset()  // flushed: ready again from the next keyframe
        awaitingKeyframe = true
        return output
    }

    /// Drains the decoder, the graph and the encoders, then ends every rendition.
    public func finish(endingAt dts: Int64, sequence: UInt64) -> [MediaFrame] {
        output.removeAll(keepingCapacity: true)
        try? decoder?.flush(into: decoded) { try self.filter($0) }
        drainPipeline()
        releaseAudio(upTo: .max)
        // Reconfigured just now, before a new pipeline was built: the closed one's renditions end.
        for rendition in renditions.isEmpty ? closedRenditions : renditions {
            output.append(MediaFrame(kind: .end, dts: dts, sessionID: sessionID, sequence: sequence, rendition: rendition.name,
                                     payload: ByteBuffer()))
        }
        return output
    }

    // MARK: Video

    private func video(_ frame: MediaFrame) throws {
        let info = try VideoTagInfo(body: frame.payload)
        let data = frame.payload.readableBytesView.dropFirst(info.dataOffset)
        if info.isSequenceHeader {
            let configuration = Array(data)
            guard configuration != decoderConfiguration || info.codec != sourceCodec else { return }
            try? decoder?.flush(into: decoded) { try self.filter($0) }
            decoder = try VideoDecoder(codec: info.codec, configuration: configuration)
            decoderConfiguration = configuration
            sourceCodec = info.codec
            awaitingKeyframe = true
            return
        }
        guard info.isCodedFrame, let decoder else { return }
        if awaitingKeyframe {
            guard info.isKeyframe else { return }
            awaitingKeyframe = false
        }
        if info.isKeyframe { keyframes.insert(frame.pts) }
        sources[frame.pts] = SourceFrame(sequence: frame.sequence, timeline: frame.timeline, startsSegment: frame.startsSegment)
        try decoder.decode(data, pts: frame.pts, dts: frame.dts, keyframe: info.isKeyframe, into: decoded) { try self.filter($0) }
        if declaredFrameRate == nil, let rate = decoder.declaredFrameRate { declaredFrameRate = av_q2d(rate) }
    }

    /// One decoded picture into the graph (made or remade for its format), and what comes out
    /// into the encoders.
    private func filter(_ picture: Frame) throws {
        let format = PictureFormat(width: picture.width, height: picture.height, pixelFormat: picture.pointer.pointee.format)
        if pipeline?.input != format {
            try rebuild(for: format, at: picture.pts)
        }
        guard let pipeline else { return }
        try pipeline.graph.push(picture)
        try drainGraph(pipeline)
        // Whatever is older than this picture has been through every output.
        keyframes = keyframes.filter { $0 >= picture.pts }
        if sources.count > 256 { sources = sources.filter { $0.key >= picture.pts - 10_000 } }
        if captions.count > 256 { captions = captions.filter { $0.key >= picture.pts - 10_000 } }
    }

    private func drainGraph(_ pipeline: Pipeline) throws {
        for (index, (encoder, rendition)) in zip(pipeline.encoders, pipeline.renditions).enumerated() {
            while try pipeline.graph.pull(index, into: filtered) {
                defer { filtered.clear() }
                filtered.pointer.pointee.pict_type = keyframes.contains(filtered.pts) ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE
                if settings.codec == .h265, let data = filtered.closedCaptionData { captions[filtered.pts] = data }
                try encoder.encode(filtered) { self.emit($0, of: rendition) }
            }
        }
    }

    /// Whatever the graph and the encoders still hold, out (at the end, or before a new pipeline).
    private func drainPipeline() {
        guard let pipeline else { return }
        try? pipeline.graph.close()
        try? drainGraph(pipeline)
        for (encoder, rendition) in zip(pipeline.encoders, pipeline.renditions) {
            try? encoder.encode(nil) { self.emit($0, of: rendition) }
        }
    }

    /// A new input format (the first picture, or a change mid-stream): a new graph and encoders,
    /// their configuration frames, and an end for renditions the new size no longer has.
    private func rebuild(for format: PictureFormat, at pts: Int64) throws {
        let previous = pipeline?.renditions ?? closedRenditions
        closedRenditions = []
        drainPipeline()
        pipeline = nil
        var renditions = RenditionLadder.plan(settings.renditions, sourceWidth: format.width, sourceHeight: format.height)
        if settings.watermarkedCopy { renditions.append(RenditionLadder.watermarkedSource(width: format.width, height: format.height)) }
        let source = sources[pts]
        let sequence = source?.sequence ?? 0
        for gone in previous where !renditions.contains(where: { $0.name == gone.name }) {
            output.append(MediaFrame(kind: .end, dts: pts, sessionID: sessionID, sequence: sequence, rendition: gone.name,
                                     payload: ByteBuffer()))
        }
        let frameRate = declaredFrameRate.flatMap { $0 > 0 && $0 <= 240 ? $0 : nil } ?? 30
        let encoders = try renditions.map { rendition in
            try VideoEncoder(EncoderSettings(codec: settings.codec, width: rendition.width, height: rendition.height,
                                             bitRate: rendition.bitRate, maxRate: rendition.maxRate,
                                             bufferSize: rendition.bufferSize, frameRate: frameRate, preset: settings.preset,
                                             tune: settings.tune, maxGOPFrames: Int(frameRate * 10)))
        }
        let graph = try FilterGraph(input: format, outputs: renditions.map { ($0.width, $0.height) }, watermark: layers())
        pipeline = Pipeline(input: format, graph: graph, encoders: encoders, renditions: renditions)
        for (encoder, rendition) in zip(encoders, renditions) {
            var headers = [metadata(rendition, frameRate: frameRate, at: pts, sequence: sequence),
                           try sequenceHeader(encoder, rendition: rendition, at: pts, sequence: sequence)]
            if var header = audioHeader {
                header.rendition = rendition.name
                header.dts = pts
                header.pts = pts
                headers.append(header)
            }
            for var header in headers {
                header.timeline = source?.timeline
                output.append(header)
            }
        }
    }

    private func layers() -> WatermarkLayers {
        var layers = WatermarkLayers()
        let watermark = settings.watermark
        if let text = watermark.text {
            layers.text = .init(text: text.text, fontFile: watermark.fontFile, fontSize: text.fontSize,
                                color: String(text.color.dropFirst()), x: text.x, y: text.y)
        }
        if let image = watermark.image, let watermarkImage {
            layers.image = .init(picture: watermarkImage, width: image.width, height: image.height, x: image.x, y: image.y)
        }
        return layers
    }

    private var outputCodec: VideoCodec { settings.codec == .h265 ? .hevc : .h264 }
    private var annexBCodec: AnnexB.Codec { settings.codec == .h265 ? .hevc : .h264 }

    private func sequenceHeader(_ encoder: VideoEncoder, rendition: RenditionSpec, at pts: Int64, sequence: UInt64) throws -> MediaFrame {
        let sets = AnnexB.parameterSets(in: encoder.parameterSets, codec: annexBCodec)
        let record: [UInt8]
        switch settings.codec {
        case .h264:
            record = try AVCConfiguration.record(sequenceParameterSets: sets[7] ?? [], pictureParameterSets: sets[8] ?? [])
        case .h265:
            record = try HEVCConfiguration.record(videoParameterSets: sets[32] ?? [], sequenceParameterSets: sets[33] ?? [],
                                                  pictureParameterSets: sets[34] ?? [])
        }
        let body = FLV.videoBody(codec: outputCodec, keyframe: true, sequenceHeader: true, data: ByteBuffer(bytes: record))
        return MediaFrame(kind: .video, flags: [.keyframe, .sequenceHeader], codec: outputCodec.rawValue, dts: pts, pts: pts,
                          sessionID: sessionID, sequence: sequence, rendition: rendition.name, payload: body)
    }

    private func metadata(_ rendition: RenditionSpec, frameRate: Double, at pts: Int64, sequence: UInt64) -> MediaFrame {
        var payload = ByteBuffer()
        payload.writeAMF0(.string("onMetaData"))
        payload.writeAMF0(.ecmaArray([
            AMF0Property("width", .number(Double(rendition.width))), AMF0Property("height", .number(Double(rendition.height))),
            AMF0Property("framerate", .number(frameRate)),
            AMF0Property("videodatarate", .number(Double(rendition.bitRate) / 1000)),
            AMF0Property("videocodecid", .number(settings.codec == .h264 ? 7 : 12)),
            AMF0Property("encoder", .string("Sluice")),
        ]))
        return MediaFrame(kind: .metadata, dts: pts, sessionID: sessionID, sequence: sequence, rendition: rendition.name,
                          payload: payload)
    }

    private func emit(_ packet: Packet, of rendition: RenditionSpec) {
        var data = AnnexB.lengthPrefixed(Array(packet.bytes), codec: annexBCodec)
        if settings.codec == .h265, let sei = captions[packet.pts].flatMap({ CaptionSEI.nalUnit(ccData: $0, codec: .hevc) }) {
            data = CaptionSEI.inserting(sei, into: data, codec: .hevc)
        }
        let body = FLV.videoBody(codec: outputCodec, keyframe: packet.isKeyframe,
                                 compositionTime: Int32(clamping: packet.pts - packet.dts), data: data)
        let source = sources[packet.pts]
        var flags: MediaFrame.Flags = packet.isKeyframe ? .keyframe : []
        if source?.startsSegment == true { flags.insert(.segmentStart) }
        output.append(MediaFrame(kind: .video, flags: flags, codec: outputCodec.rawValue,
                                 dts: packet.dts, pts: packet.pts, sessionID: sessionID, sequence: source?.sequence ?? 0,
                                 rendition: rendition.name, timeline: source?.timeline, payload: body))
        if rendition == renditions.first {
            latestVideoDTS = max(latestVideoDTS, packet.dts)
            releaseAudio(upTo: latestVideoDTS)
        }
    }

    // MARK: Audio

    /// AAC is passed through; other audio (MP3) is re-encoded to AAC first.
    private func audio(_ frame: MediaFrame) throws {
        guard frame.codec != AudioCodec.aac.rawValue else {
            hold(frame)
            return
        }
        if audioReencoder == nil, !audioRefused {
            do {
                audioReencoder = try AudioReencoder(codec: AudioCodec(rawValue: frame.codec) ?? .other)
            } catch {
                // Reported once; the renditions go on without audio.
                audioRefused = true
                throw error
            }
        }
        guard let audioReencoder else { return }
        try audioReencoder.reencode(frame.payload.readableBytesView.dropFirst(1), pts: frame.dts) { aac, pts in
            if audioHeader == nil, let config = audioReencoder.audioSpecificConfig {
                hold(MediaFrame(kind: .audio, flags: .sequenceHeader, codec: AudioCodec.aac.rawValue, dts: pts, sessionID: sessionID,
                                sequence: frame.sequence, payload: ByteBuffer(bytes: [0xAF, 0x00] + config)))
            }
            hold(MediaFrame(kind: .audio, codec: AudioCodec.aac.rawValue, dts: pts, sessionID: sessionID, sequence: frame.sequence,
                            timeline: frame.timeline, payload: ByteBuffer(bytes: [0xAF, 0x01] + aac)))
        }
    }

    /// Audio goes to every rendition once video has reached it (or after a second without video).
    private func hold(_ frame: MediaFrame) {
        if frame.isSequenceHeader { audioHeader = frame }
        heldAudio.append(frame)
        if let first = heldAudio.first, frame.dts - first.dts > 1000 || pipeline == nil && heldAudio.count > 100 {
            releaseAudio(upTo: frame.dts - 1000)
        } else {
            releaseAudio(upTo: latestVideoDTS)
        }
    }

    private func releaseAudio(upTo dts: Int64) {
        let ready = heldAudio.prefix { $0.dts <= dts }
        guard !ready.isEmpty else { return }
        heldAudio.removeFirst(ready.count)
        for frame in ready {
            for rendition in renditions {
                var copy = frame
                copy.rendition = rendition.name
                output.append(copy)
            }
        }
    }

    /// `framerate` from an `onMetaData` payload.
    static func frameRate(inMetadata payload: ByteBuffer) -> Double? {
        var buffer = payload
        guard let values = try? AMF0Decoder().decodeAll(&buffer), values.count >= 2 else { return nil }
        return values[1]["framerate"]?.numberValue
    }
}
