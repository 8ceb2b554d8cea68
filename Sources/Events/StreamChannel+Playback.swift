/// Where hubs and workers read a stream's channel. Declared beside the channel model so that
/// targets below the stores (Fanout, Packager) are given one at construction; every `ChannelStore`
/// (State) is one.
public protocol ChannelDirectory: Sendable {
    /// The channel `stream` publishes to; nil for a stream without one (the `--push-secret` mode).
    func channel(of stream: StreamID) async throws -> StreamChannel?
    /// The PNG or JPEG bytes of the uploaded watermark image of `stream`'s channel; nil for none.
    func watermarkImageBytes(of stream: StreamID) async throws -> [UInt8]?
}

extension ChannelDirectory {
    /// The rendition served at `stream`'s own URLs ("" for the source itself), by its channel's
    /// transcoding and watermark (`StreamChannel.playbackSource`). Reads the watermark image only
    /// to learn whether one is uploaded, and only when the channel draws one.
    public func playbackSource(of stream: StreamID) async throws -> String {
        guard let channel = try await channel(of: stream) else { return "" }
        let hasImage = channel.watermark.image.enabled ? try await watermarkImageBytes(of: stream)?.isEmpty == false : false
        return channel.playbackSource(hasWatermarkImage: hasImage)
    }
}

/// The channel policy of what a stream plays as: whether it is re-encoded, and which rendition
/// stands in for the unmarked source. Pure; the hubs, the packager and the transcoder all ask it.
extension StreamChannel {
    /// The rendition a watermark without a ladder makes: the source re-encoded at its own size.
    public static let watermarkedRendition = "watermarked"

    /// The watermark's text, when it draws one (enabled and not empty).
    public var drawnWatermarkText: Watermark.Text? {
        watermark.text.enabled && !watermark.text.text.isEmpty ? watermark.text : nil
    }

    /// Whether the stream is re-encoded: a ladder, or a watermark with something to draw.
    /// - Parameter hasWatermarkImage: an image is uploaded (the channel keeps only its placement).
    public func transcodes(hasWatermarkImage: Bool) -> Bool {
        transcode.enabled || drawnWatermarkText != nil || (watermark.image.enabled && hasWatermarkImage)
    }

    /// The ladder's renditions; none when the channel does not transcode (a watermark alone
    /// re-encodes the source at its own size).
    public var ladder: [Rendition] { transcode.enabled ? transcode.renditions : [] }

    /// The rendition played at the stream's own URLs: the watermarked copy when the stream is
    /// re-encoded without a ladder (the unmarked source is then never served), else the source
    /// itself (empty).
    public func playbackSource(hasWatermarkImage: Bool) -> String {
        transcodes(hasWatermarkImage: hasWatermarkImage) && ladder.isEmpty ? Self.watermarkedRendition : ""
    }
}
