import Events
import Foundation

/// A live publish session as session state records it (`sluice:stream:{id}` in Redis).
public struct StreamSession: Sendable, Hashable, Codable {
    public var streamID: StreamID
    public var sessionID: UInt64
    /// The ingest node holding the publisher.
    public var node: String
    public var startedAt: Date
    public var videoCodec: String?
    public var audioCodec: String?
    /// From the publisher's `onMetaData`.
    public var width: Int?
    public var height: Int?
    public var frameRate: Double?
    /// Ingest bitrate over the session so far, bits per second.
    public var bitrate: Int?
    /// The publisher's SRT link, refreshed every few seconds; nil for other protocols.
    public var srt: SRTLinkStatus?
    /// Caption channels found in the video's SEI (CEA-608 `CC1`…`CC4`, CEA-708 `SERVICE1`…), as
    /// HLS names them in `INSTREAM-ID`; nil until ingest has seen any.
    public var captions: [String]?

    public init(streamID: StreamID, sessionID: UInt64, node: String, startedAt: Date,
                videoCodec: String? = nil, audioCodec: String? = nil) {
        self.streamID = streamID
        self.sessionID = sessionID
        self.node = node
        self.startedAt = startedAt
        self.videoCodec = videoCodec
        self.audioCodec = audioCodec
    }
}

/// What a reader joining a live stream mid-session needs first.
public struct PlaybackStart: Sendable, Hashable {
    public var sessionID: UInt64
    /// Decoder configurations and metadata of the session, in publish order.
    public var headers: [MediaFrame]
    /// The newest keyframe's offset in the stream's partition of `sluice.media.source`; nil
    /// before the first one is recorded.
    public var keyframeOffset: Int64?

    public init(sessionID: UInt64, headers: [MediaFrame], keyframeOffset: Int64?) {
        self.sessionID = sessionID
        self.headers = headers
        self.keyframeOffset = keyframeOffset
    }
}

/// Where a packager that joins a live stream mid-session begins reading, per track: a few
/// segments back, so its first playlist lists whole segments at once.
public struct PackagingStart: Sendable, Hashable {
    public struct Track: Sendable, Hashable {
        /// The track's decoder configurations and metadata, handed to the packager first.
        public var headers: [MediaFrame]
        /// The oldest of the newest recorded segment starts (at most `SessionStore.segmentStartsKept`
        /// back) in the stream's partition of the track's topic; for the source, the newest
        /// keyframe while no segment start is recorded; nil: nothing recorded yet.
        public var offset: Int64?

        public init(headers: [MediaFrame], offset: Int64?) {
            self.headers = headers
            self.offset = offset
        }
    }

    public var sessionID: UInt64
    /// By rendition name; the source is "" (always present while the stream is live).
    public var tracks: [String: Track]

    public init(sessionID: UInt64, tracks: [String: Track]) {
        self.sessionID = sessionID
        self.tracks = tracks
    }

    /// The source's track: `sluice.media.source`.
    public var source: Track { tracks[""] ?? Track(headers: [], offset: nil) }
    /// The renditions' tracks, by name: `sluice.media.renditions`.
    public var renditions: [String: Track] { tracks.filter { !$0.key.isEmpty } }
}

/// Who publishes what, and which streams are live. Implementations: in memory (one machine)
/// and Redis (a cluster).
public protocol SessionStore: Sendable {
    /// Takes the publish lock of `stream` for `owner` unless someone else holds it.
    /// - Parameter ttl: how long the lock lives without renewal.
    /// - Returns: whether `owner` now holds the lock.
    func acquirePublishLock(_ stream: StreamID, owner: String, ttl: Duration) async throws -> Bool
    /// Extends the lock's life; `false` if `owner` no longer holds it.
    func renewPublishLock(_ stream: StreamID, owner: String, ttl: Duration) async throws -> Bool
    /// Releases the lock if `owner` holds it.
    func releasePublishLock(_ stream: StreamID, owner: String) async throws

    /// Records a live session, or updates its details (codecs, size, bitrate).
    func markLive(_ session: StreamSession) async throws
    /// Removes the stream from the live set, if `sessionID` is still its session.
    func markOffline(_ stream: StreamID, sessionID: UInt64) async throws
    func liveSessions() async throws -> [StreamSession]
    func session(_ stream: StreamID) async throws -> StreamSession?

    /// Records where the newest keyframe of `stream` sits in its partition of the source topic,
    /// if `sessionID` is still the stream's live session.
    func recordKeyframe(_ stream: StreamID, sessionID: UInt64, offset: Int64) async throws
    /// Records the session's current decoder configurations and metadata (the frames a reader
    /// that starts at a keyframe has not seen), if `sessionID` is still the stream's session.
    /// The same for one of the stream's renditions ("" is the source), as its transcoder writes them.
    func recordHeaders(_ stream: StreamID, rendition: String, sessionID: UInt64, headers: [MediaFrame]) async throws
    /// Records a frame that opens a segment of `rendition` ("" for the source) at `offset`, if
    /// `sessionID` is still the stream's session; the newest `segmentStartsKept` are kept per rendition.
    func recordSegmentStart(_ stream: StreamID, rendition: String, sessionID: UInt64, offset: Int64) async throws
    /// Where a node that starts reading `stream` mid-session begins: the live session's headers
    /// and newest keyframe, so its first viewer gets a whole GOP at once. Nil when not live.
    func playbackStart(of stream: StreamID) async throws -> PlaybackStart?
    /// Where a packager that starts reading `stream` mid-session begins, for the source and each
    /// rendition with anything recorded. Nil when not live.
    func packagingStart(of stream: StreamID) async throws -> PackagingStart?
    /// Notes where `stream`'s next session goes on numbering its segments and discontinuities,
    /// so a republish continues its playlists rather than jumping (kept for a week).
    func recordContinuation(_ stream: StreamID, _ continuation: SegmentCutter.Continuation) async throws
    /// Where `stream`'s next session goes on numbering; nil when nothing was noted.
    func continuation(of stream: StreamID) async throws -> SegmentCutter.Continuation?

    /// Records that `node` is alive for the next `ttl`.
    func heartbeat(node: String, ttl: Duration) async throws
    /// Whether `node` beat within its last TTL.
    func isAlive(node: String) async throws -> Bool
    /// Ends `session` for a node that stopped beating: removes it if it is still the stream's
    /// live session, with the publish lock if that node holds it. `true` only for the one call
    /// that ended it, so exactly one surviving node announces `stream.offline`.
    func endSessionOfLostNode(_ session: StreamSession) async throws -> Bool

    /// Replaces what the relay worker reports for `stream`; an empty list removes the entry.
    func setRelayStatuses(_ statuses: [RelayStatus], of stream: StreamID) async throws
    func relayStatuses(of stream: StreamID) async throws -> [RelayStatus]

    /// Replaces the health warnings of `stream`'s publish session `sessionID` (`HealthWorker`);
    /// an empty list removes them.
    func setHealth(_ warnings: [HealthWarning], of stream: StreamID, sessionID: UInt64) async throws
    /// The warnings recorded for `stream`'s session `sessionID`; empty when none are, or when
    /// those recorded belong to another session.
    func health(of stream: StreamID, sessionID: UInt64) async throws -> [HealthWarning]

    /// Replaces what `node` reports of its viewers (per stream, by protocol) for the next `ttl`;
    /// a node that stops reporting drops out of the sums when its record expires.
    func setViewerCounts(_ counts: [StreamID: [String: Int]], node: String, ttl: Duration) async throws
    /// Every node's unexpired viewer report, by node.
    func viewerCounts() async throws -> [String: [StreamID: [String: Int]]]
    /// Appends one second of `stream`'s history, keeping the newest `historyKept`; the history
    /// goes `ttl` after its last sample (it outlives the session by that much).
    func appendSample(_ sample: StreamSample, of stream: StreamID, ttl: Duration) async throws
    /// The newest `count` samples of `stream` (fewer when there are fewer), oldest first.
    func samples(of stream: StreamID, last count: Int) async throws -> [StreamSample]
}

extension SessionStore {
    /// Segment starts kept per stream and rendition: a packager joining late starts this many
    /// segments back. 4.
    public static var segmentStartsKept: Int { 4 }

    /// Samples of history kept per stream: an hour of seconds. 3600.
    public static var historyKept: Int { 3600 }

    /// Records the source's headers (see `recordHeaders(_:rendition:sessionID:headers:)`).
    public func recordHeaders(_ stream: StreamID, sessionID: UInt64, headers: [MediaFrame]) async throws {
        try await recordHeaders(stream, rendition: "", sessionID: sessionID, headers: headers)
    }
}
