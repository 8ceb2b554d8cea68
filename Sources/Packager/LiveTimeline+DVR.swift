import Foundation
import Media

/// Playlists over a DVR window (docs/DVR.md): the segments that left memory (`DVRListing`, their
/// bytes in the asset store) before the ones the timeline holds, in one sliding window counted
/// back from the newest segment's program date; and start-over playlists anchored at an instant.
///
/// Everything printed comes from the segments' descriptions, whichever node made them, so edges
/// that have the same newest segment answer with the same bytes.
extension LiveTimeline {
    /// The window's finished segments, oldest first: the listing with the timeline's own
    /// finished segments noted in (they are, once `StreamPackage` has seen them finish).
    func windowEntries(_ listing: DVRListing) -> [DVREntry] {
        let finished = segments.filter(\.isComplete)
        guard let last = finished.last, listing.newest.map({ $0.sequence < last.mediaSequence }) ?? true else { return listing.entries }
        var merged = listing
        merged.note(finished.map(DVREntry.init))
        return merged.entries
    }

    /// Where a start-over playlist begins: the segment that contains `instant` (Unix ms) and
    /// the seconds into it.
    static func anchor(_ entries: [DVREntry], at instant: Int64) -> Result<(index: Int, offset: Double), StartUnavailable> {
        guard let first = entries.first, let last = entries.last else { return .failure(.afterLive(newest: 0)) }
        guard instant >= first.programDate else { return .failure(.beforeWindow(oldest: first.programDate)) }
        guard instant < last.endDate else { return .failure(.afterLive(newest: last.endDate)) }
        let index = entries.lastIndex { $0.programDate <= instant } ?? 0
        return .success((index, Double(instant - entries[index].programDate) / 1000))
    }

    /// The target duration over `entries`: the longest rounded, never below the configured one.
    func targetDuration(over entries: some Sequence<DVREntry>, _ kind: TrackKind? = nil) -> Int {
        entries.reduce(Int(configuration.segmentSeconds.rounded(.up))) { target, entry in
            max(target, Int((kind.flatMap { entry.tracks[$0]?.duration } ?? entry.duration).rounded()))
        }
    }

    /// Classic HLS over the whole window (RFC 8216bis §4.4.3; `EXT-X-PROGRAM-DATE-TIME` on every
    /// segment, §4.4.4.6), or from the segment containing `start` with `EXT-X-START` there.
    func dvrClassicPlaylist(_ listing: DVRListing, start: Int64? = nil) -> Result<MediaPlaylist, StartUnavailable> {
        var shown = listing.windowed(windowEntries(listing))
        var offset: Double?
        if let start {
            switch Self.anchor(Array(shown), at: start) {
            case .failure(let reason): return .failure(reason)
            case .success(let anchor):
                shown = shown.dropFirst(anchor.index)
                offset = anchor.offset
            }
        }
        var previous: DVREntry?
        let entries = shown.map { entry in
            defer { previous = entry }
            return MediaPlaylist.Segment(uri: PackagedResource.tsSegment(session: entry.session, mediaSequence: entry.sequence).relativePath,
                                         duration: entry.duration, discontinuity: Self.startsDiscontinuity(entry, after: previous),
                                         programDate: entry.programDate)
        }
        var playlist = MediaPlaylist(version: 3, targetDuration: targetDuration(over: shown), mediaSequence: shown.first?.sequence ?? 0,
                                     discontinuitySequence: shown.first?.discontinuitySequence ?? 0, segments: entries)
        playlist.startOffset = offset
        return .success(playlist)
    }

    /// A segment is marked when its discontinuity sequence differs from the one before it in
    /// the playlist (never the first listed).
    static func startsDiscontinuity(_ entry: DVREntry, after previous: DVREntry?) -> Bool {
        previous.map { $0.discontinuitySequence != entry.discontinuitySequence } ?? false
    }
}
