import Events

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
    }

    /// Where to start reading a stream; nil when it is not live. Throws when session state
    /// cannot say (a first request is then told the stream is not found; streams being read go on).
    public var start: @Sendable (StreamID) async throws -> Start?
    /// Reading stops this long after a stream's last request. Default 30 s.
    public var idleSeconds: Double
    /// How long a request for a live stream not packaged here yet waits for its package to begin
    /// before it is told the stream is not found. Default 5 s.
    public var firstPackageSeconds: Double
    /// How often a stream being read is checked against session state; a stream no longer live
    /// (its ingest node died without ending it) has its playlists ended. Default 5 s.
    public var liveCheckSeconds: Double

    public init(idleSeconds: Double = 30, firstPackageSeconds: Double = 5, liveCheckSeconds: Double = 5,
                start: @escaping @Sendable (StreamID) async throws -> Start?) {
        precondition(idleSeconds > 0 && firstPackageSeconds > 0 && liveCheckSeconds > 0, "feed times must be positive")
        self.start = start
        self.idleSeconds = idleSeconds
        self.firstPackageSeconds = firstPackageSeconds
        self.liveCheckSeconds = liveCheckSeconds
    }
}
