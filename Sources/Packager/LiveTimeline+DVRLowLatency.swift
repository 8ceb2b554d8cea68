import Media

/// The LL-HLS media playlist over a DVR window: the live playlist as the timeline writes it
/// (parts, preload hint, blocking answers), with the window's older segments listed before it
/// as whole CMAF segments (parts are never archived), one media sequence and discontinuity
/// count throughout, and delta updates (§6.2.5.1) skipping over the whole list.
extension LiveTimeline {
    func dvrLowLatencyPlaylist(_ kind: TrackKind, listing: DVRListing, skip: Bool, end: PlaylistEnd? = nil,
                               start: Int64? = nil) -> Result<MediaPlaylist, StartUnavailable>? {
        guard var playlist = lowLatencyPlaylist(kind, skip: false, end: end) else { return nil }
        let liveFirst = playlist.mediaSequence
        // The segments the live playlist lists, as `lowLatencyPlaylist` picks them.
        let live = segments.filter {
            $0.isFinished(kind) && $0.tracks.track(kind) != nil && $0.mediaSequence <= (end?.lastFinished ?? .max)
        }.suffix(configuration.cmafWindow).map(DVREntry.init)
        guard live.count == playlist.segments.count else { return .success(playlist) }
        var older = olderRun(of: kind, before: liveFirst, in: windowEntries(listing))
        if let newest = live.last ?? older.last { older = older.filter { newest.programDate - $0.programDate <= listing.window } }
        var listed = older + live
        var segments = older.map { entry in
            MediaPlaylist.Segment(uri: PackagedResource.cmafSegment(session: entry.session, track: kind, mediaSequence: entry.sequence).relativePath,
                                  duration: entry.tracks[kind]?.duration ?? entry.duration, programDate: entry.programDate)
        } + playlist.segments
        if let start {
            switch Self.anchor(listed, at: start) {
            case .failure(let reason): return .failure(reason)
            case .success(let anchor):
                listed.removeFirst(anchor.index)
                segments.removeFirst(anchor.index)
                playlist.startOffset = anchor.offset
            }
        }
        // Marks and maps follow the segments' own numbers and sessions, wherever they came from.
        for index in segments.indices {
            let previous = index > 0 ? listed[index - 1] : nil
            segments[index].discontinuity = Self.startsDiscontinuity(listed[index], after: previous)
            segments[index].map = previous?.session == listed[index].session
                ? nil : PackagedResource.initSegment(session: listed[index].session, track: kind).relativePath
        }
        if let last = listed.last, let open = end.map({ $0.lastFinished + 1 }) ?? position(of: kind)?.mediaSequence,
           let openSegment = segment(open), playlist.preloadHint != nil {
            playlist.pendingDiscontinuity = last.discontinuitySequence != openSegment.discontinuitySequence
            playlist.pendingMap = last.session == openSegment.tracks.name
                ? nil : PackagedResource.initSegment(session: openSegment.tracks.name, track: kind).relativePath
        }
        playlist.mediaSequence = listed.first?.sequence ?? liveFirst
        playlist.discontinuitySequence = listed.first?.discontinuitySequence ?? playlist.discontinuitySequence
        playlist.targetDuration = max(playlist.targetDuration, targetDuration(over: listed, kind))
        playlist.serverControl?.canSkipUntil = Double(6 * playlist.targetDuration)
        playlist.segments = segments
        if skip { skipOld(in: &playlist, sessions: listed.map(\.session), kind) }
        return .success(playlist)
    }

    /// The entries with a `kind` track whose numbers run without a gap up to `first - 1`.
    private func olderRun(of kind: TrackKind, before first: Int, in entries: [DVREntry]) -> [DVREntry] {
        var run: [DVREntry] = []
        var expected = first - 1
        for entry in entries.reversed() where entry.sequence < first {
            guard entry.sequence == expected, entry.tracks[kind] != nil else { break }
            run.append(entry)
            expected -= 1
        }
        return run.reversed()
    }

    /// A delta update: segments that start more than CAN-SKIP-UNTIL from the end become
    /// `EXT-X-SKIP` (the last one always stays); the first one left carries its map.
    private func skipOld(in playlist: inout MediaPlaylist, sessions: [String], _ kind: TrackKind) {
        guard let canSkipUntil = playlist.serverControl?.canSkipUntil else { return }
        var remaining = playlist.segments.reduce(0) { $0 + $1.duration } + playlist.pendingParts.reduce(0) { $0 + $1.duration }
        var skipped = 0
        for segment in playlist.segments.dropLast() {
            guard remaining > canSkipUntil else { break }
            remaining -= segment.duration
            skipped += 1
        }
        guard skipped > 0 else { return }
        playlist.segments.removeFirst(skipped)
        playlist.skippedSegments = skipped
        playlist.segments[0].map = PackagedResource.initSegment(session: sessions[skipped], track: kind).relativePath
    }
}
