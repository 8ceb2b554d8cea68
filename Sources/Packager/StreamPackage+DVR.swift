import Events
import Foundation
import Media
import State

/// The DVR window of one package (docs/DVR.md): the descriptions of its finished segments
/// (`DVRListing`), noted as the timeline finishes them and filled from the archive for what
/// came before this node read the stream. The archive is read when the package starts and again
/// while the listing does not reach back past memory (another node archives what this one has
/// not seen): from the frame path, at most once a segment, with a growing wait while reads find
/// nothing to join; never per request.
struct DVRState: Sendable {
    var listing: DVRListing?
    private var reading = false
    /// The newest segment number when the archive was last read.
    private var lastRead: Int?
    /// Segments to wait after a read that left a gap: 1, 2, 4, … 32.
    private var wait = 1
    /// The latest read, for tests to await.
    var lastReadTask: Task<Void, Never>?

    init(windowSeconds: Double) {
        listing = windowSeconds > 0 ? DVRListing(windowSeconds: windowSeconds) : nil
    }

    /// Notes the timeline's finished segments the listing does not have yet. Returns the Unix ms
    /// to read the archive from when a read is due (`canRead`: there is an archive).
    mutating func note(_ timeline: LiveTimeline, canRead: Bool) -> Int64? {
        guard let known = listing else { return nil }
        let fresh = timeline.segments.filter { $0.isComplete && !known.lists($0.mediaSequence) }
        if !fresh.isEmpty { listing?.note(fresh.map(DVREntry.init)) }
        guard canRead, !reading, let listing, let newest = listing.newest,
              let memoryOldest = timeline.segments.first(where: \.isComplete)?.mediaSequence,
              listing.lacksArchive(before: memoryOldest) else { return nil }
        if let lastRead, newest.sequence < lastRead + wait { return nil }
        reading = true
        lastRead = newest.sequence
        return newest.programDate - listing.window
    }

    /// What a read found (nil: the read failed); the wait before the next one doubles while reads
    /// succeed and the listing still lacks what memory does not hold (the archive is behind), and
    /// is one segment again after a failure, so a store that was away is read again at once.
    mutating func finishRead(_ entries: [DVREntry]?, memoryOldest: Int?) {
        reading = false
        guard let entries else {
            wait = 1
            return
        }
        listing?.fill(entries)
        let stillLacking = memoryOldest.map { listing?.lacksArchive(before: $0) ?? false } ?? false
        wait = stillLacking ? min(wait * 2, 32) : 1
    }
}

extension DVREntry {
    /// A segment the archive lists (`DVRSegment` checks itself when read back).
    init(_ segment: DVRSegment) {
        var tracks: [TrackKind: TrackTimes] = [:]
        for track in segment.tracks {
            guard let kind = track.trackKind else { continue }
            tracks[kind] = TrackTimes(duration: track.duration, startTime: track.startTime, ticks: track.ticks)
        }
        self.init(session: segment.session, sequence: segment.sequence, programDate: segment.programDateMilliseconds,
                  duration: segment.duration, discontinuitySequence: segment.discontinuitySequence, tracks: tracks,
                  periodFirstSegment: segment.periodFirstSegment)
    }
}

extension StreamPackage {
    /// Unix ms of the newest finished segment's program date: where `?start=-N` counts back
    /// from; nil before a segment is finished.
    public var liveEdge: Int64? {
        state.withLockedValue { state in state.timeline.segments.last(where: \.isComplete)?.programDate }
    }

    /// Reads the archive from `since` (Unix ms) and adds what it lists to the window.
    func readArchive(since: Int64) {
        guard let archive else { return }
        let (stream, rendition) = (streamID, rendition)
        let task = Task { [weak self] in
            let since = Date(timeIntervalSince1970: Double(since) / 1000)
            let found = try? await archive.segments(of: stream, rendition: rendition, since: since)
            self?.state.withLockedValue { state in
                state.dvr.finishRead(found?.map(DVREntry.init), memoryOldest: state.timeline.segments.first(where: \.isComplete)?.mediaSequence)
                state.version += 1
            }
        }
        state.withLockedValue { $0.dvr.lastReadTask = task }
    }

    /// Where the asset store keeps a segment or init segment the window lists but memory no
    /// longer holds (`DVRArchive.location`), and the store; nil for anything the window does not
    /// list, so requests for made-up names never reach the store.
    public func archivedMedia(_ resource: PackagedResource) -> (location: String, store: any AssetStore)? {
        guard let archive, resource.numbersAreInRange else { return nil }
        let path: String? = state.withLockedValue { state in
            guard let listing = state.dvr.listing else { return nil }
            switch resource {
            case .tsSegment(let session, let sequence), .cmafSegment(let session, _, let sequence):
                return listing.entry(sequence)?.session == session ? resource.relativePath : nil
            case .dashSegment(let session, let track, let number):
                guard let sample = listing.entries.last(where: { $0.session == session }),
                      let entry = listing.entry(number + sample.periodFirstSegment), entry.session == session else { return nil }
                return PackagedResource.cmafSegment(session: session, track: track, mediaSequence: entry.sequence).relativePath
            case .initSegment(let session, _):
                return listing.entries.contains { $0.session == session } ? resource.relativePath : nil
            default:
                return nil
            }
        }
        return path.map { (DVRArchive.location(of: streamID, rendition: rendition, relativePath: $0), archive.store) }
    }

    /// The playlist text of `resource` over the DVR window, or from a start-over's instant;
    /// nil when it is not a playlist this renders (or nothing is finished yet).
    static func windowText(_ resource: PackagedResource, _ request: PlaylistRequest, _ state: State,
                           end: LiveTimeline.PlaylistEnd?) -> Result<String, StartUnavailable>? {
        let timeline = state.timeline
        // Without a window, a start-over counts within what memory holds.
        let listing = state.dvr.listing ?? DVRListing(windowSeconds: Double(PlaybackStart.maxSeconds))
        var instant: Int64?
        if case .at(let milliseconds) = request.start { instant = milliseconds }
        switch resource {
        case .classicPlaylist:
            return timeline.dvrClassicPlaylist(listing, start: instant).map { $0.render() }
        case .llhlsMedia(let kind):
            return timeline.dvrLowLatencyPlaylist(kind, listing: listing, skip: request.skip, end: end, start: instant)?.map { $0.render() }
        case .dashManifest:
            return timeline.dvrDashManifest(listing, start: instant)?.map { $0.render() }
        case .llhlsMultivariant:
            // The media playlists it lists start where it was asked to.
            guard let text = timeline.multivariantPlaylist()?.render() else { return nil }
            guard let instant else { return .success(text) }
            return .success(carry("start=\(UTCDate.string(unixMilliseconds: instant))", into: text))
        default:
            return nil
        }
    }

    /// `query` on every media playlist URI of a multivariant playlist.
    private static func carry(_ query: String, into text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            if line.hasSuffix(".m3u8") && !line.hasPrefix("#") { return "\(line)?\(query)" }
            return line.replacingOccurrences(of: ".m3u8\"", with: ".m3u8?\(query)\"")
        }.joined(separator: "\n")
    }
}
