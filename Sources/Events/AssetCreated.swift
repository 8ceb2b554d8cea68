import Foundation

/// `asset.created` on `sluice.assets`: a finished file (an MP4 segment, a snapshot, a VOD
/// playlist, a motion clip) is stored and listed.
public struct AssetCreated: Codable, Sendable, Hashable {
    public var assetID: String
    /// `mp4`, `snapshot`, `vod-playlist`, `motion-clip`, `motion-snapshot`.
    public var kind: String
    public var channelID: String
    public var streamID: StreamID
    @HexSessionID public var sessionID: UInt64
    /// When the media in the file starts.
    public var start: Date
    /// Seconds of media (0 for a picture).
    public var duration: Double
    public var size: Int
    /// Where the store keeps it: `{channel}/{kind}/{YYYY}/{MM}/{DD}/{file}`.
    public var location: String
    public var contentType: String

    public init(assetID: String, kind: String, channelID: String, streamID: StreamID, sessionID: UInt64, start: Date,
                duration: Double, size: Int, location: String, contentType: String) {
        self.assetID = assetID
        self.kind = kind
        self.channelID = channelID
        self.streamID = streamID
        self.sessionID = sessionID
        self.start = start
        self.duration = duration
        self.size = size
        self.location = location
        self.contentType = contentType
    }

    enum CodingKeys: String, CodingKey {
        case assetID = "assetId", kind, channelID = "channelId", streamID = "streamId", sessionID = "sessionId", start, duration,
             size, location, contentType
    }

    public static let type = "asset.created"
}
