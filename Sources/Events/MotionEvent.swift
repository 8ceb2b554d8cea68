import Foundation

/// `motion.started` and `motion.ended`: a stream's picture began or stopped changing. The end
/// names the clip that covers the event (from a keyframe before it) and the picture of its start.
public struct MotionEvent: Codable, Sendable, Hashable {
    public var streamID: StreamID
    public var sessionID: UInt64
    /// Share of pixels that changed at the event's start, percent.
    public var changedPercent: Double
    /// Seconds the event lasted (`motion.ended` only).
    public var durationSeconds: Double?
    /// The `motion-clip` asset (`motion.ended` only).
    public var clipAssetID: String?
    /// The `motion-snapshot` asset: the picture where motion was seen (`motion.ended` only).
    public var snapshotAssetID: String?

    public init(streamID: StreamID, sessionID: UInt64, changedPercent: Double, durationSeconds: Double? = nil,
                clipAssetID: String? = nil, snapshotAssetID: String? = nil) {
        self.streamID = streamID
        self.sessionID = sessionID
        self.changedPercent = changedPercent
        self.durationSeconds = durationSeconds
        self.clipAssetID = clipAssetID
        self.snapshotAssetID = snapshotAssetID
    }

    enum CodingKeys: String, CodingKey {
        case streamID = "streamId", sessionID = "sessionId", changedPercent, durationSeconds, clipAssetID = "clipAssetId",
             snapshotAssetID = "snapshotAssetId"
    }
}
