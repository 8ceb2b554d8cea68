import Events
import Foundation
import Media
import NIOCore

/// Packages one stream for its DVR archive exactly as the edge packages it: the same
/// `LiveTimeline` with the same `PackagingConfiguration`, fed the same frames in the same way
/// (`begin` at each new publish session, `finish` at its end), so every segment it hands out has
/// the names and bytes the edge serves at the same URLs (`LiveTimeline.media`). Parts and
/// playlists are not archived: each finished segment's MPEG-TS and whole CMAF segments are,
/// with the session's init segments alongside its first one.
public struct DVRRecorder: Sendable {
    /// One archived file: its path under `/{id}/` and its bytes.
    public struct File: Sendable, Hashable {
        public var relativePath: String
        public var contentType: String
        public var bytes: ByteBuffer
    }

    /// A segment that finished: its description and the files to store for it.
    public struct Finished: Sendable, Hashable {
        public var segment: DVRSegment
        /// Its media (`segment.resources`), then, for a session's first, the init segments.
        public var files: [File]
    }

    public let configuration: PackagingConfiguration
    private var timeline: LiveTimeline
    /// The newest segment handed out (session name, number): those after it are new.
    private var last: (session: String, sequence: Int)?
    /// Sessions whose init segments were handed out (the last few: a session's segments follow on).
    private var initialized: [String] = []

    public init(configuration: PackagingConfiguration) {
        self.configuration = configuration
        timeline = LiveTimeline(configuration: configuration)
    }

    /// Whether a stream packaged this way has anything to archive (an HTTP output).
    public static func archives(_ configuration: PackagingConfiguration) -> Bool { configuration.isEnabled }

    /// Where frames of `rendition` go, as the edge's hub decides it (`PackagerHub.handle`): the
    /// rendition playing at the stream's own URLs is archived as the stream's ("") with the
    /// stream's configuration; another transcoded rendition under its name, packaged as
    /// renditions are (classic HLS always on); the source when a rendition plays in its place: nowhere.
    public static func destination(of rendition: String, in stream: PackagingConfiguration)
        -> (archiveRendition: String, configuration: PackagingConfiguration)? {
        if rendition == stream.sourceRendition { return ("", stream) }
        guard !rendition.isEmpty else { return nil }
        return (rendition, stream.forRendition)
    }

    /// Starts a publish session (the previous one, if any, is finished first): as
    /// `StreamPackage.begin`. Returns the segments that finished with the previous session.
    public mutating func begin(sessionID: UInt64) -> [Finished] {
        timeline.begin(sessionID: sessionID)
        return drain()
    }

    /// Takes the session's next frame, as `StreamPackage.append`; returns the segments it finished.
    /// Throws what the timeline throws (a configuration it cannot package); segments finished
    /// before the error are handed out by the next call.
    public mutating func append(_ frame: MediaFrame, arrival: Date) throws -> [Finished] {
        try timeline.append(frame, arrival: arrival)
        return drain()
    }

    /// Ends the session (its last segment closed with what it has), as `StreamPackage.finish`.
    public mutating func finish() -> [Finished] {
        timeline.finish()
        return drain()
    }

    /// Complete segments after the last handed out, in order, up to the first incomplete one.
    private mutating func drain() -> [Finished] {
        let segments = timeline.segments
        var start = segments.startIndex
        if let last, let index = segments.lastIndex(where: { $0.tracks.name == last.session && $0.mediaSequence == last.sequence }) {
            start = index + 1
        }
        var finished: [Finished] = []
        for record in segments[start...] {
            guard record.isComplete else { break }
            finished.append(archived(record))
            last = (record.tracks.name, record.mediaSequence)
        }
        return finished
    }

    /// A finished segment's description and files, its bytes as the edge serves them.
    private mutating func archived(_ record: SegmentRecord) -> Finished {
        let session = record.tracks.name
        var media: [PackagedResource] = []
        if configuration.hls { media.append(.tsSegment(session: session, mediaSequence: record.mediaSequence)) }
        if configuration.makesCMAF {
            media += record.kinds.map { .cmafSegment(session: session, track: $0, mediaSequence: record.mediaSequence) }
        }
        var files = media.compactMap(file)
        let inits = configuration.makesCMAF ? record.kinds.map { PackagedResource.initSegment(session: session, track: $0) } : []
        if !initialized.contains(session) {
            files += inits.compactMap(file)
            initialized = Array((initialized + [session]).suffix(4))
        }
        let tracks = record.kinds.map { kind in
            DVRSegment.Track(kind: kind.rawValue, duration: record.duration(kind), startTime: record.startTime[kind], ticks: record.ticks(kind))
        }
        let segment = DVRSegment(session: session, sequence: record.mediaSequence, duration: record.duration,
                                 programDate: Date(timeIntervalSince1970: Double(record.programDate) / 1000),
                                 discontinuity: record.discontinuity,
                                 resources: media.map(\.relativePath).filter { path in files.contains { $0.relativePath == path } },
                                 discontinuitySequence: record.discontinuitySequence, periodFirstSegment: record.periodFirstSegment,
                                 tracks: tracks, initSegments: inits.map(\.relativePath))
        return Finished(segment: segment, files: files)
    }

    private func file(_ resource: PackagedResource) -> File? {
        timeline.media(resource).map { File(relativePath: resource.relativePath, contentType: resource.contentType, bytes: $0) }
    }
}
