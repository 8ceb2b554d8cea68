extension MultivariantPlaylist {
    /// A stream players use for scrubbing and fast-forward: an I-frame playlist of a variant, or
    /// an image (thumbnail sprite) playlist.
    public struct TrickPlayStream: Sendable, Hashable {
        public enum Kind: Sendable, Hashable {
            /// `EXT-X-I-FRAME-STREAM-INF` (RFC 8216 §4.3.4.3).
            case iFrames
            /// `EXT-X-IMAGE-STREAM-INF` (the Image Playlist convention); `CODECS="jpeg"`.
            case images
        }

        public var kind: Kind
        public var uri: String
        /// Peak bits per second.
        public var bandwidth: Int
        /// The variant's codecs (I-frames); images are `jpeg`.
        public var codecs: [String]
        /// The variant's picture (I-frames) or one tile (images).
        public var resolution: PictureSize?

        public init(kind: Kind, uri: String, bandwidth: Int, codecs: [String], resolution: PictureSize?) {
            self.kind = kind
            self.uri = uri
            self.bandwidth = bandwidth
            self.codecs = codecs
            self.resolution = resolution
        }

        var line: String {
            var attributes = ["BANDWIDTH=\(bandwidth)"]
            if let size = resolution { attributes.append("RESOLUTION=\(size.width)x\(size.height)") }
            attributes.append("CODECS=\"\((kind == .images ? ["jpeg"] : codecs).joined(separator: ","))\"")
            attributes.append("URI=\"\(uri)\"")
            return (kind == .images ? "#EXT-X-IMAGE-STREAM-INF:" : "#EXT-X-I-FRAME-STREAM-INF:") + attributes.joined(separator: ",")
        }
    }
}
