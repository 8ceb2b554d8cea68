import Foundation

/// `asset.created` on `sluice.assets`: a finished file (an MP4 segment, a snapshot, a VOD
/// playlist, a motion clip) is stored and listed.
public struct AssetCreated: Codable, Sendable, Hashable {
    public var assetID: String
    /// `mp4`, `snapshot`, `vod-playlist`, `motion-clip`, `motion-snapshot`.
    public var kind: String
    public var channelID: String
    public var streamID: StreamID
    public var sessionID: UInt64
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

    /// The session id travels as 16 hex digits (as segment names carry it): JSON numbers lose
    /// 64-bit precision in JavaScript.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        assetID = try container.decode(String.self, forKey: .assetID)
        kind = try container.decode(String.self, forKey: .kind)
        channelID = try container.decode(String.self, forKey: .channelID)
        streamID = try container.decode(StreamID.self, forKey: .streamID)
        guard let session = UInt64(try container.decode(String.self, forKey: .sessionID), radix: 16) else {
            throw DecodingError.dataCorruptedError(forKey: .sessionID, in: container, debugDescription: "not 16 hex digits")
        }
        sessionID = session
        start = try container.decode(Date.self, forKey: .start)
        duration = try container.decode(Double.self, forKey: .duration)
        size = try container.decode(Int.self, forKey: .size)
        location = try container.decode(String.self, forKey: .location)
        contentType = try container.decode(String.self, forKey: .contentType)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(assetID, forKey: .assetID)
        try container.encode(kind, forKey: .kind)
        try container.encode(channelID, forKey: .channelID)
        try container.encode(streamID, forKey: .streamID)
        try container.encode(Self.hex(sessionID), forKey: .sessionID)
        try container.encode(start, forKey: .start)
        try container.encode(duration, forKey: .duration)
        try container.encode(size, forKey: .size)
        try container.encode(location, forKey: .location)
        try container.encode(contentType, forKey: .contentType)
    }

    /// 16 lowercase hex digits.
    public static func hex(_ session: UInt64) -> String {
        let digits = String(session, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    public static let type = "asset.created"
}
