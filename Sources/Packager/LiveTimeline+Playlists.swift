import Foundation
import Media

/// What the timeline looks like to players: HLS playlists.
///
/// Every number a playlist prints comes from the segments it lists (their stamped numbers,
/// dates and discontinuities; the target duration from their own durations), and a blocking
/// request is answered with the playlist as it stood when what it asked for appeared: any node
/// that has the same segments answers the same request with the same bytes.
extension LiveTimeline {
    /// The target duration for playlists listing `segments`: the longest of them, rounded, and
    /// never below the configured segment duration.
    func targetDuration(over segments: some Sequence<SegmentRecord>) -> Int {
        segments.reduce(Int(configuration.segmentSeconds.rounded(.up))) { max($0, Int($1.duration.rounded())) }
    }

    /// The target duration of the LL-HLS window now (how long requests may wait).
    var targetDuration: Int { targetDuration(over: segments.filter(\.isComplete).suffix(configuration.cmafWindow)) }

    /// Classic HLS (RFC 8216bis §4.4.3), MPEG-TS segments, the last `listSize` complete ones.
    func classicPlaylist() -> MediaPlaylist {
        let shown = segments.filter(\.isComplete).suffix(configuration.listSize)
        let entries = shown.enumerated().map { offset, segment in
            MediaPlaylist.Segment(uri: PackagedResource.tsSegment(session: segment.tracks.name,
                                                                  mediaSequence: segment.mediaSequence).relativePath,
                                  duration: segment.duration, discontinuity: offset > 0 && segment.discontinuity,
                                  programDate: segment.programDate)
        }
        return MediaPlaylist(version: 3, targetDuration: targetDuration(over: shown), mediaSequence: shown.first?.mediaSequence ?? 0,
                             discontinuitySequence: shown.first?.discontinuitySequence ?? 0, segments: entries)
    }

    /// Where a playlist ends: the last finished segment it lists and the parts of the next one.
    struct PlaylistEnd {
        var lastFinished: Int
        var openParts: Int
    }

    /// The end of the `kind` playlist as it stood when the blocking request for `mediaSequence`
    /// (and `part`) could first be answered (RFC 8216bis §6.2.5.2: a part index past a finished
    /// segment's last part means the next segment's first part).
    func end(of kind: TrackKind, answering mediaSequence: Int, part: Int?) -> PlaylistEnd {
        guard let part else { return PlaylistEnd(lastFinished: mediaSequence, openParts: 0) }
        if let segment = segment(mediaSequence), segment.isFinished(kind) {
            let count = segment.parts[kind, default: []].count
            if part == count - 1 { return PlaylistEnd(lastFinished: mediaSequence, openParts: 0) }
            if part >= count { return PlaylistEnd(lastFinished: mediaSequence, openParts: 1) }
        }
        return PlaylistEnd(lastFinished: mediaSequence - 1, openParts: part + 1)
    }

    /// The LL-HLS media playlist of one track (RFC 8216bis §4.4.4.9, §4.4.5): finished segments
    /// of the window, parts near the live edge, the parts of the segment being written, and a
    /// preload hint for the next one. With `skip`, a delta update (§6.2.5.1); with `end`, the
    /// playlist as it stood then (a blocking request's answer), else as it stands now.
    func lowLatencyPlaylist(_ kind: TrackKind, skip: Bool, end: PlaylistEnd? = nil) -> MediaPlaylist? {
        let finished = segments.filter {
            $0.isFinished(kind) && $0.tracks.track(kind) != nil && $0.mediaSequence <= (end?.lastFinished ?? .max)
        }.suffix(configuration.cmafWindow)
        let openNumber = end.map { $0.lastFinished + 1 } ?? position(of: kind)?.mediaSequence
        let open = openNumber.flatMap { segment($0) }.flatMap { $0.tracks.track(kind) != nil ? $0 : nil }
        guard let first = finished.first ?? open else { return nil }
        let pendingParts = open.map { Array(parts(of: $0, kind).prefix(end?.openParts ?? .max)) } ?? []
        let targetDuration = targetDuration(over: finished)
        let canSkipUntil = Double(6 * targetDuration)
        var remaining = finished.reduce(0) { $0 + $1.duration(kind) } + pendingParts.reduce(0) { $0 + $1.duration }
        var playlist = MediaPlaylist(
            version: 9, targetDuration: targetDuration, mediaSequence: first.mediaSequence,
            discontinuitySequence: first.discontinuitySequence,
            serverControl: .init(canBlockReload: true, partHoldBack: 3 * configuration.partSeconds, canSkipUntil: canSkipUntil),
            partTarget: configuration.partSeconds, segments: [])
        var previousSession: String?
        for (offset, segment) in finished.enumerated() {
            let startFromEnd = remaining
            remaining -= segment.duration(kind)
            if skip, startFromEnd > canSkipUntil, offset < finished.count - 1 {
                playlist.skippedSegments += 1
                continue
            }
            var entry = MediaPlaylist.Segment(
                uri: PackagedResource.cmafSegment(session: segment.tracks.name, track: kind,
                                                  mediaSequence: segment.mediaSequence).relativePath,
                duration: segment.duration(kind), discontinuity: offset > 0 && segment.discontinuity,
                programDate: segment.programDate)
            if previousSession != segment.tracks.name {
                entry.map = PackagedResource.initSegment(session: segment.tracks.name, track: kind).relativePath
            }
            previousSession = segment.tracks.name
            if startFromEnd <= Double(3 * targetDuration) { entry.parts = parts(of: segment, kind) }
            playlist.segments.append(entry)
        }
        if let open {
            playlist.pendingParts = pendingParts
            playlist.pendingDiscontinuity = !finished.isEmpty && open.discontinuity
            playlist.pendingProgramDate = pendingParts.isEmpty ? nil : open.programDate
            if previousSession != open.tracks.name {
                playlist.pendingMap = PackagedResource.initSegment(session: open.tracks.name, track: kind).relativePath
            }
            playlist.preloadHint = PackagedResource.cmafPart(session: open.tracks.name, track: kind,
                                                              mediaSequence: open.mediaSequence,
                                                              part: pendingParts.count).relativePath
        }
        return playlist
    }

    private func parts(of segment: SegmentRecord, _ kind: TrackKind) -> [MediaPlaylist.Part] {
        segment.parts[kind, default: []].map { part in
            MediaPlaylist.Part(uri: PackagedResource.cmafPart(session: segment.tracks.name, track: kind,
                                                              mediaSequence: segment.mediaSequence, part: part.index).relativePath,
                               duration: part.duration, isIndependent: part.isIndependent)
        }
    }
}
