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
        /// `CLOSED-CAPTIONS`: the `GROUP-ID` of the caption channels in this variant's video.
        public var closedCaptions: String?

        public init(uri: String, bandwidth: Int, codecs: [String], resolution: PictureSize? = nil,
                    frameRate: Double? = nil, audioGroup: String? = nil, closedCaptions: String? = nil) {
            self.uri = uri
            self.bandwidth = bandwidth
            self.codecs = codecs
            self.resolution = resolution
            self.frameRate = frameRate
            self.audioGroup = audioGroup
            self.closedCaptions = closedCaptions
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

    /// `EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS` (§4.4.6.1): a caption channel carried in the video
    /// itself (CEA-608/708 in SEI), so it has no URI.
    public struct ClosedCaptionRendition: Sendable, Hashable {
        public var groupID: String
        public var name: String
        /// RFC 5646 tag; nil when not known.
        public var language: String?
        /// `CC1`…`CC4` or `SERVICE1`…`SERVICE63`.
        public var instreamID: String

        public init(groupID: String, name: String, language: String? = nil, instreamID: String) {
            self.groupID = groupID
            self.name = name
            self.language = language
            self.instreamID = instreamID
        }
    }

    public var version: Int
    public var closedCaptions: [ClosedCaptionRendition] = []
    public var audio: [AudioRendition]
    public var variants: [Variant]
    /// `EXT-X-I-FRAME-STREAM-INF` (RFC 8216 §4.3.4.3) and `EXT-X-IMAGE-STREAM-INF` lines, after the variants.
    public var trickPlay: [TrickPlayStream] = []

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
        for rendition in closedCaptions {
            lines.append("#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID=\"\(rendition.groupID)\",NAME=\"\(rendition.name)\""
                + (rendition.language.map { ",LANGUAGE=\"\($0)\"" } ?? "") + ",DEFAULT=NO,AUTOSELECT=YES,INSTREAM-ID=\"\(rendition.instreamID)\"")
        }
        for variant in variants {
            var attributes = ["BANDWIDTH=\(variant.bandwidth)", "CODECS=\"\(variant.codecs.joined(separator: ","))\""]
            if let size = variant.resolution { attributes.append("RESOLUTION=\(size.width)x\(size.height)") }
            if let rate = variant.frameRate { attributes.append("FRAME-RATE=\(PlaylistNumber.fixed(rate, places: 3))") }
            if let group = variant.audioGroup { attributes.append("AUDIO=\"\(group)\"") }
            if let group = variant.closedCaptions { attributes.append("CLOSED-CAPTIONS=\"\(group)\"") }
            lines.append("#EXT-X-STREAM-INF:" + attributes.joined(separator: ","))
            lines.append(variant.uri)
        }
        lines += trickPlay.map(\.line)
        return lines.joined(separator: "\n") + "\n"
    }
}

extension MultivariantPlaylist {
    /// Lists `channels` as the closed-caption group `groupID` of every variant; nothing when
    /// there are none. `SERVICE` values need version 7 (RFC 8216bis §7).
    public mutating func describe(captions channels: CaptionChannels, groupID: String = "cc") {
        guard !channels.isEmpty else { return }
        closedCaptions = channels.instreamIDs.map { .init(groupID: groupID, name: $0, instreamID: $0) }
        for index in variants.indices { variants[index].closedCaptions = groupID }
        if !channels.services708.isEmpty { version = max(version, 7) }
    }
}
