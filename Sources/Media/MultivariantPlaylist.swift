/// An HLS multivariant (master) playlist (RFC 8216bis §4.4.6): variant streams and the
/// alternative renditions they refer to.
public struct MultivariantPlaylist: Sendable, Hashable {
    /// `EXT-X-STREAM-INF` (§4.4.6.2).
    public struct Variant: Sendable, Hashable {
        public var uri: String
        /// Peak bits per second.
        public var bandwidth: Int
        public var codecs: [String]
        public var resolution: PictureSize?
        public var frameRate: Double?
        /// The `GROUP-ID` of the audio renditions to play with this variant.
        public var audioGroup: String?

        public init(uri: String, bandwidth: Int, codecs: [String], resolution: PictureSize? = nil,
                    frameRate: Double? = nil, audioGroup: String? = nil) {
            self.uri = uri
            self.bandwidth = bandwidth
            self.codecs = codecs
            self.resolution = resolution
            self.frameRate = frameRate
            self.audioGroup = audioGroup
        }
    }

    /// `EXT-X-MEDIA:TYPE=AUDIO` (§4.4.6.1).
    public struct AudioRendition: Sendable, Hashable {
        public var uri: String
        public var groupID: String
        public var name: String
        public var channels: Int?

        public init(uri: String, groupID: String, name: String, channels: Int? = nil) {
            self.uri = uri
            self.groupID = groupID
            self.name = name
            self.channels = channels
        }
    }

    public var version: Int
    public var audio: [AudioRendition]
    public var variants: [Variant]

    public init(version: Int, audio: [AudioRendition] = [], variants: [Variant]) {
        self.version = version
        self.audio = audio
        self.variants = variants
    }

    public func render() -> String {
        var lines = ["#EXTM3U", "#EXT-X-VERSION:\(version)", "#EXT-X-INDEPENDENT-SEGMENTS"]
        for rendition in audio {
            var line = "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"\(rendition.groupID)\",NAME=\"\(rendition.name)\""
                + ",DEFAULT=YES,AUTOSELECT=YES"
            if let channels = rendition.channels { line += ",CHANNELS=\"\(channels)\"" }
            lines.append(line + ",URI=\"\(rendition.uri)\"")
        }
        for variant in variants {
            var attributes = ["BANDWIDTH=\(variant.bandwidth)", "CODECS=\"\(variant.codecs.joined(separator: ","))\""]
            if let size = variant.resolution { attributes.append("RESOLUTION=\(size.width)x\(size.height)") }
            if let rate = variant.frameRate { attributes.append("FRAME-RATE=\(PlaylistNumber.fixed(rate, places: 3))") }
            if let group = variant.audioGroup { attributes.append("AUDIO=\"\(group)\"") }
            lines.append("#EXT-X-STREAM-INF:" + attributes.joined(separator: ","))
            lines.append(variant.uri)
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
