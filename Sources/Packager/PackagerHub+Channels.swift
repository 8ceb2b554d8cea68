import Events
import Logging

/// How a stream is packaged: the channel policy (pure, on `PackagingConfiguration`) and the hub's
/// read of the channel when a session begins.
extension PackagingConfiguration {
    /// A stream's HTTP packaging from its channel's outputs and HLS settings; every output on the
    /// defaults for a stream without a channel (the `--push-secret` mode).
    /// - Parameter sourceRendition: the rendition played in the source's place
    ///   (`StreamChannel.playbackSource`); empty for the source itself.
    public init(channel: StreamChannel?, sourceRendition: String) {
        guard let channel else {
            self.init(sourceRendition: sourceRendition)
            return
        }
        self.init(segmentSeconds: channel.hls.segmentSeconds, listSize: channel.hls.listSize,
                  partSeconds: channel.hls.partSeconds ?? 0.5, hls: channel.outputs.hls, llhls: channel.outputs.llhls,
                  dash: channel.outputs.dash, sourceRendition: sourceRendition)
        trickPlay = TrickPlayConfiguration(channel: channel)
        dvrWindowSeconds = channel.dvr.windowSeconds ?? 0
    }
}

extension PackagerHub {
    /// How `stream` is packaged, read from its channel as a session begins; every output on the
    /// defaults without a directory (tests) or a channel. Nil when the channel cannot be read
    /// (logged; the session is then not packaged).
    func configuration(of stream: StreamID) async -> PackagingConfiguration? {
        guard let channels else { return PackagingConfiguration() }
        do {
            guard let channel = try await channels.channel(of: stream) else { return PackagingConfiguration() }
            // Whether a watermark image is uploaded only decides which rendition plays as the
            // source: unreadable, the source plays itself, as when nothing transcodes.
            let hasImage = channel.watermark.image.enabled ? (try? await channels.watermarkImageBytes(of: stream))?.isEmpty == false : false
            return PackagingConfiguration(channel: channel, sourceRendition: channel.playbackSource(hasWatermarkImage: hasImage))
        } catch {
            logger.error("channel lookup failed; stream not packaged", metadata: ["stream": "\(stream)", "error": "\(error)"])
            return nil
        }
    }
}
