import Foundation
import Media

/// What the timeline looks like to players: HLS playlists and the DASH manifest.
extension LiveTimeline {
    /// Seconds a delta update may skip up to, from the end (RFC 8216bis §4.4.3.8: at least six
    /// target durations).
    var canSkipUntil: Double { Double(6 * targetDuration) }

    /// Classic HLS (RFC 8216bis §4.4.3), MPEG-TS segments, the last `listSize` complete ones.
    func classicPlaylist() -> MediaPlaylist {
        let shown = segments.filter(\.isComplete).suffix(configuration.listSize)
        let entries = shown.map { segment in
            MediaPlaylist.Segment(uri: PackagedResource.tsSegment(session: segment.tracks.name,
                                                                  mediaSequence: segment.mediaSequence).relativePath,
                                  duration: segment.duration, discontinuity: segment.discontinuity)
        }
        return MediaPlaylist(version: 3, targetDuration: targetDuration, mediaSequence: shown.first?.mediaSequence ?? 0,
                             discontinuitySequence: shown.first?.discontinuitiesBefore ?? 0, segments: entries)
    }

    /// The LL-HLS media playlist of one track (RFC 8216bis §4.4.4.9, §4.4.5): finished segments
    /// of the window, parts near the live edge, the parts of the segment being written, and a
    /// preload hint for the next one. With `skip`, a delta update (§6.2.5.1).
    func lowLatencyPlaylist(_ kind: TrackKind, skip: Bool) -> MediaPlaylist? {
        let finished = segments.filter { $0.isFinished(kind) && $0.tracks.track(kind) != nil }.suffix(configuration.cmafWindow)
        let open = position(of: kind).flatMap { segment($0.mediaSequence) }
        guard let first = finished.first ?? open else { return nil }
        let pendingParts = open.map { parts(of: $0, kind) } ?? []
        var remaining = finished.reduce(0) { $0 + $1.duration(kind) } + pendingParts.reduce(0) { $0 + $1.duration }
        var playlist = MediaPlaylist(
            version: 9, targetDuration: targetDuration, mediaSequence: first.mediaSequence,
            discontinuitySequence: first.discontinuitiesBefore,
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
                duration: segment.duration(kind), discontinuity: segment.discontinuity)
            if previousSession != segment.tracks.name {
                entry.map = PackagedResource.initSegment(session: segment.tracks.name, track: kind).relativePath
            }
            previousSession = segment.tracks.name
            if startFromEnd <= Double(3 * targetDuration) { entry.parts = parts(of: segment, kind) }
            playlist.segments.append(entry)
        }
        if let open {
            playlist.pendingParts = pendingParts
            playlist.pendingDiscontinuity = open.discontinuity
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
