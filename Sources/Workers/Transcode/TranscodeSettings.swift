import Events

/// What a stream's transcoding does: the ladder, the encoder and the watermark.
public struct TranscodeSettings: Sendable, Hashable {
    /// Empty: no ladder; the source is re-encoded at its own size only because it is watermarked.
    public var renditions: [StreamChannel.Rendition]
    public var codec: EncoderSettings.Codec
    public var preset: String
    public var tune: String
    public var watermark: WatermarkSettings
    /// Whether the source is also re-encoded at its own size as `RenditionLadder.watermarkedName`,
    /// the rendition that plays in the source's place. Default: when there is no ladder. A session
    /// that began so keeps it when a ladder is added live (`LiveTranscodeChange`): its players
    /// play that copy until the publisher starts again.
    public var watermarkedCopy: Bool

    public init(renditions: [StreamChannel.Rendition], codec: EncoderSettings.Codec = .h264, preset: String = "veryfast",
                tune: String = "zerolatency", watermark: WatermarkSettings = WatermarkSettings(), watermarkedCopy: Bool? = nil) {
        self.renditions = renditions
        self.codec = codec
        self.preset = preset
        self.tune = tune
        self.watermark = watermark
        self.watermarkedCopy = watermarkedCopy ?? renditions.isEmpty
    }

    /// The rendition played at the stream's own URLs: the watermarked copy when there is one (the
    /// unmarked source is then never served), else the source itself (empty).
    public var playbackSource: String {
        watermarkedCopy ? RenditionLadder.watermarkedName : ""
    }

    /// The channel's transcoding, or nil when it neither transcodes nor watermarks.
    /// - Parameter image: the uploaded watermark image, if the channel has one.
    public init?(channel: StreamChannel, image: [UInt8]?, fontFile: String) {
        guard channel.transcodes(hasWatermarkImage: !(image ?? []).isEmpty) else { return nil }
        self.init(renditions: channel.ladder, codec: channel.transcode.codec == .h265 ? .h265 : .h264,
                  preset: channel.transcode.preset, tune: channel.transcode.tune,
                  watermark: WatermarkSettings(channel.watermark, image: image, fontFile: fontFile))
    }

    /// `stream`'s transcoding from its channel (ladder, watermark text and uploaded image); nil
    /// for none, or for a stream without a channel. The image is read only when the channel draws one.
    public static func of(_ stream: StreamID, in channels: any ChannelDirectory, fontFile: String) async throws -> TranscodeSettings? {
        guard let channel = try await channels.channel(of: stream) else { return nil }
        let image = channel.watermark.image.enabled ? try await channels.watermarkImageBytes(of: stream) : nil
        return TranscodeSettings(channel: channel, image: image, fontFile: fontFile)
    }
}

/// The enabled parts of a channel's watermark, with what drawing them needs.
public struct WatermarkSettings: Sendable, Hashable {
    public var text: StreamChannel.Watermark.Text?
    public var image: StreamChannel.Watermark.Image?
    /// PNG or JPEG bytes for `image`.
    public var imageBytes: [UInt8]
    public var fontFile: String

    public init(text: StreamChannel.Watermark.Text? = nil, image: StreamChannel.Watermark.Image? = nil,
                imageBytes: [UInt8] = [], fontFile: String = WatermarkSettings.defaultFontFile) {
        self.text = text
        self.image = image
        self.imageBytes = imageBytes
        self.fontFile = fontFile
    }

    public init(_ watermark: StreamChannel.Watermark, image: [UInt8]?, fontFile: String) {
        let text = watermark.text.enabled && !watermark.text.text.isEmpty ? watermark.text : nil
        let hasImage = watermark.image.enabled && !(image ?? []).isEmpty
        self.init(text: text, image: hasImage ? watermark.image : nil, imageBytes: hasImage ? image ?? [] : [], fontFile: fontFile)
    }

    public var isEmpty: Bool { text == nil && image == nil }

    /// Noto Sans CJK (Debian's `fonts-noto-cjk`): Latin, Chinese, Japanese and Korean in one font.
    public static let defaultFontFile = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
}
