import Events
import State

/// How a packager on an API node reads streams on demand: a stream is read only while HTTP
/// requests ask for its packaged output. The first request starts a keyed read of the stream a
/// few segments back (where session state says its newest segments start), so that request is
/// answered as soon as the packager has caught up; after `idleSeconds` without a request, reading
/// stops and the stream's packages go.
public struct PackagingFeed: Sendable {
    /// Where reading a live stream mid-session starts (from session state).
    public struct Start: Sendable {
        /// Decoder configurations and metadata of the source and of each rendition (a frame's
        /// `rendition` says whose), handed to the packages before anything read.
        public var headers: [MediaFrame]
        /// Where to read the stream's partition of `sluice.media.source`; nil: from now.
        public var sourceOffset: Int64?
        /// Where to read its partition of `sluice.media.renditions`; nil: from now.
        public var renditionsOffset: Int64?

        public init(headers: [MediaFrame], sourceOffset: Int64?, renditionsOffset: Int64?) {
            self.headers = headers
            self.sourceOffset = sourceOffset
            self.renditionsOffset = renditionsOffset
        }

        /// The source's and every rendition's headers, the source from its oldest recorded segment
        /// start, the renditions (one partition for all of them) from the oldest of theirs.
        public init(_ start: PackagingStart) {
            let renditions = start.renditions.sorted { $0.key < $1.key }.map(\.value)
            self.init(headers: start.source.headers + renditions.flatMap(\.headers), sourceOffset: start.source.offset,
                      renditionsOffset: renditions.compactMap(\.offset).min())
        }
    }

    /// Whether a stream is live, and where reading it mid-session starts
    /// (`SessionStore.packagingStart`). When it does not answer, a first request is told the
    /// stream is not found; streams being read go on.
    public var sessions: any SessionStore
    /// Reading stops this long after a stream's last request. Default 30 s.
    public var idleSeconds: Double
    /// How long a request for a live stream not packaged here yet waits for its package to begin
    /// before it is told the stream is not found. Default 5 s.
    public var firstPackageSeconds: Double
    /// How often a stream being read is checked against session state; a stream no longer live
    /// (its ingest node died without ending it) has its playlists ended. Default 5 s.
    public var liveCheckSeconds: Double

    public init(sessions: any SessionStore, idleSeconds: Double = 30, firstPackageSeconds: Double = 5, liveCheckSeconds: Double = 5) {
        precondition(idleSeconds > 0 && firstPackageSeconds > 0 && liveCheckSeconds > 0, "feed times must be positive")
        self.sessions = sessions
        self.idleSeconds = idleSeconds
        self.firstPackageSeconds = firstPackageSeconds
        self.liveCheckSeconds = liveCheckSeconds
    }

    /// Where to start reading `stream`; nil when it is not live.
    func start(_ stream: StreamID) async throws -> Start? {
        try await sessions.packagingStart(of: stream).map(Start.init)
    }
}
