import Events

/// What a stream offers for scrubbing and fast-forward: I-frame playlists beside its classic HLS
/// playlists, and a thumbnail track of JPEG sprites (`ThumbnailLayout`). From the channel's
/// `trickPlay` settings; I-frame playlists on and thumbnails off without a channel.
public struct TrickPlayConfiguration: Sendable, Hashable {
    /// An I-frame playlist (`iframes.m3u8`) per classic HLS variant, listed with
    /// `EXT-X-I-FRAME-STREAM-INF`. Default on.
    public var iFramePlaylists: Bool
    /// The thumbnail sprites' layout; nil when the channel makes none.
    public var thumbnails: ThumbnailLayout?

    public init(iFramePlaylists: Bool = true, thumbnails: ThumbnailLayout? = nil) {
        self.iFramePlaylists = iFramePlaylists
        self.thumbnails = thumbnails
    }

    /// The channel's trick-play settings (the defaults without a channel).
    public init(channel: StreamChannel?) {
        guard let settings = channel?.trickPlay else {
            self.init()
            return
        }
        let tiles = settings.thumbnails
        self.init(iFramePlaylists: settings.iFramePlaylists,
                  thumbnails: tiles.enabled ? ThumbnailLayout(intervalSeconds: tiles.intervalSeconds, columns: tiles.columns,
                                                              rows: tiles.rows, tileWidth: tiles.width) : nil)
    }
}
