import Events
import Foundation
import State

/// One finished segment kept in the DVR archive: what a playlist needs to list it (names,
/// numbers, dates and durations) and which files hold its bytes. Made by `DVRRecorder` from the
/// same timeline the edge serves, so listing it prints what the live playlist printed.
public struct DVRSegment: Sendable, Hashable, Codable {
    /// One track's media in the segment, as LL-HLS and DASH list it.
    public struct Track: Sendable, Hashable, Codable {
        /// `TrackKind.rawValue`: `video` or `audio`.
        public var kind: String
        /// Seconds of the track's media in the segment.
        public var duration: Double
        /// Decode time of its first sample in the track's timescale (DASH `S@t`); nil if unknown.
        public var startTime: UInt64?
        /// Its length in the track's timescale (DASH `S@d`).
        public var ticks: UInt64

        public init(kind: String, duration: Double, startTime: UInt64?, ticks: UInt64) {
            self.kind = kind
            self.duration = duration
            self.startTime = startTime
            self.ticks = ticks
        }

        public var trackKind: TrackKind? { TrackKind(rawValue: kind) }
    }

    /// The session component of resource names (`0123456789abcdef`, `-n` after re-initialisations).
    public var session: String
    /// Media sequence number.
    public var sequence: Int
    /// Seconds the classic playlist lists (the video's when there is video).
    public var duration: Double
    /// `EXT-X-PROGRAM-DATE-TIME`, whole milliseconds.
    public var programDate: Date
    /// Its discontinuity sequence differs from the segment before it (as the live timeline said).
    public var discontinuity: Bool
    /// Relative paths (`PackagedResource.relativePath`) of its own archived media: the MPEG-TS
    /// segment and the whole CMAF segment of each track, whichever outputs the channel has.
    public var resources: [String]
    /// The writer's discontinuity sequence number (`EXT-X-DISCONTINUITY-SEQUENCE`).
    public var discontinuitySequence: Int
    /// The number of its period's first segment: DASH's `$Number$` is `sequence` less this.
    public var periodFirstSegment: Int
    /// Per-track durations and times (CMAF outputs); empty when only MPEG-TS is made.
    public var tracks: [Track]
    /// Relative paths of its session's init segments (archived once per session).
    public var initSegments: [String]

    public init(session: String, sequence: Int, duration: Double, programDate: Date, discontinuity: Bool, resources: [String],
                discontinuitySequence: Int = 0, periodFirstSegment: Int = 0, tracks: [Track] = [], initSegments: [String] = []) {
        self.session = session
        self.sequence = sequence
        self.duration = duration
        self.programDate = programDate
        self.discontinuity = discontinuity
        self.resources = resources
        self.discontinuitySequence = discontinuitySequence
        self.periodFirstSegment = periodFirstSegment
        self.tracks = tracks
        self.initSegments = initSegments
    }

    /// Unix ms of `programDate`.
    public var programDateMilliseconds: Int64 { Int64((programDate.timeIntervalSince1970 * 1000).rounded()) }
    /// The number DASH names its CMAF segments by (`cmaf/{session}/{track}-d{n}.m4s`).
    public var dashNumber: Int { sequence - periodFirstSegment }

    public func track(_ kind: TrackKind) -> Track? { tracks.first { $0.kind == kind.rawValue } }
}

/// The DVR archive of every stream: segment bytes in the asset store at
/// `dvr/{streamID}/{relativePath}` (renditions: `dvr/{streamID}/{rendition}/{relativePath}`),
/// exactly what the edge serves at `/{streamID}/{relativePath}`, and one index row per segment
/// (`DVRIndexEntry`, in the asset index's database) holding its `DVRSegment`. Bytes are stored
/// before their row and removed after it, so a listed segment's bytes are there (until it
/// leaves the window). Everything is in the shared index and store: any node reads any stream's.
public struct DVRArchive: Sendable {
    public let index: any AssetIndex
    public let store: any AssetStore

    public init(index: any AssetIndex, store: any AssetStore) {
        self.index = index
        self.store = store
    }

    /// Archived segments of `stream` whose programDate is at or after `since`, oldest first.
    /// Rows that do not read back as a sound segment are left out.
    public func segments(of stream: StreamID, since: Date) async throws -> [DVRSegment] {
        try await segments(of: stream, rendition: "", since: since)
    }

    /// The same for a transcoded rendition (`720p`); empty: the stream's own output.
    public func segments(of stream: StreamID, rendition: String, since: Date) async throws -> [DVRSegment] {
        let since = Self.milliseconds(since)
        let entries = try await index.dvrSegments(of: stream, rendition: rendition, since: since, limit: DVRIndexEntry.maxListing)
        return entries.compactMap(Self.segment)
    }

    /// The archived bytes at `relativePath` (as the edge names it: `ts/…`, `cmaf/…`, a DASH
    /// `-d{n}.m4s` name too); nil when nothing is archived there or the path names no segment
    /// or init segment.
    public func bytes(of stream: StreamID, relativePath: String) async throws -> Data? {
        try await bytes(of: stream, rendition: "", relativePath: relativePath)
    }

    public func bytes(of stream: StreamID, rendition: String, relativePath: String) async throws -> Data? {
        guard let location = try await location(of: stream, rendition: rendition, relativePath: relativePath) else { return nil }
        return try await store.get(location)
    }

    /// Where the edge sends the archived file from (a local file or the store's own URL), for
    /// serving without reading it into memory; nil as `bytes` would be.
    public func source(of stream: StreamID, rendition: String = "", relativePath: String) async throws -> StoredFileSource? {
        guard let location = try await location(of: stream, rendition: rendition, relativePath: relativePath) else { return nil }
        return try await store.source(of: location)
    }

    /// The store location of an archived resource; DASH names are looked up in the index.
    func location(of stream: StreamID, rendition: String, relativePath: String) async throws -> String? {
        guard relativePath.utf8.count <= 200, Self.isRenditionName(rendition),
              let resource = PackagedResource(path: relativePath.split(separator: "/", omittingEmptySubsequences: false)),
              resource.numbersAreInRange else { return nil }
        switch resource {
        case .tsSegment, .initSegment, .cmafSegment:
            return Self.location(of: stream, rendition: rendition, relativePath: resource.relativePath)
        case .dashSegment(let session, let track, let number):
            guard let entry = try await index.dvrSegment(of: stream, rendition: rendition, session: session, dashNumber: number),
                  let segment = Self.segment(entry) else { return nil }
            let named = PackagedResource.cmafSegment(session: session, track: track, mediaSequence: segment.sequence).relativePath
            return segment.resources.contains(named) ? Self.location(of: stream, rendition: rendition, relativePath: named) : nil
        default:
            return nil
        }
    }

    /// `dvr/{streamID}/{relativePath}`, or `dvr/{streamID}/{rendition}/{relativePath}`.
    public static func location(of stream: StreamID, rendition: String = "", relativePath: String) -> String {
        rendition.isEmpty ? "dvr/\(stream.rawValue)/\(relativePath)" : "dvr/\(stream.rawValue)/\(rendition)/\(relativePath)"
    }

    /// Rendition names the archive keeps apart: empty or a short name of letters and digits.
    static func isRenditionName(_ name: String) -> Bool {
        name.utf8.count <= 16 && name.utf8.allSatisfy { (48...57).contains($0) || (97...122).contains($0) }
    }

    static func milliseconds(_ date: Date) -> Int64 {
        let value = (date.timeIntervalSince1970 * 1000).rounded()
        guard value.isFinite else { return value > 0 ? .max : .min }
        return Int64(min(max(value, -9.0e15), 9.0e15))
    }
}
