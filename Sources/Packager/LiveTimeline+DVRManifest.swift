import Foundation
import Media

/// The DASH manifest over a DVR window: `timeShiftBufferDepth` is the window, and each period's
/// `SegmentTimeline` lists the window's older segments of that period before the ones in memory.
/// A start-over MPD asks players to start there (`suggestedPresentationDelay` back from its
/// `publishTime`; dash.js also takes `#t=posix:` on the MPD URL, docs/DVR.md).
///
/// Like the live MPD, it covers the current publish session; periods (re-initialisations)
/// that have left memory entirely are not listed.
extension LiveTimeline {
    func dvrDashManifest(_ listing: DVRListing, start: Int64? = nil) -> Result<DASHManifest, StartUnavailable>? {
        guard var manifest = dashManifest(), let newest = segments.last(where: \.isComplete) else { return nil }
        let window = segments.filter { $0.isComplete && $0.origin == newest.origin }.suffix(configuration.cmafWindow)
        let entries = listing.windowed(windowEntries(listing)).filter { $0.publishSession == newest.tracks.name.prefix(16) }
        manifest.timeShiftBufferDepth = Double(listing.window) / 1000
        for index in manifest.periods.indices {
            let session = manifest.periods[index].id
            let members = window.filter { $0.tracks.name == session }
            guard let first = members.first else { continue }
            let older = entries.filter { $0.session == session && $0.sequence < first.mediaSequence }
            guard !older.isEmpty else { continue }
            for slot in manifest.periods[index].representations.indices {
                extend(&manifest.periods[index].representations[slot], older: older, members: Array(members), periodFirst: first.periodFirstSegment)
            }
        }
        if let start {
            guard let first = entries.first ?? window.first.map(DVREntry.init) else { return .failure(.afterLive(newest: 0)) }
            let shown = [first] + window.filter { $0.mediaSequence > first.sequence }.map(DVREntry.init)
            if case .failure(let reason) = Self.anchor(shown, at: start) { return .failure(reason) }
            let published = Int64((manifest.publishTime.timeIntervalSince1970 * 1000).rounded())
            manifest.suggestedPresentationDelay = max(manifest.suggestedPresentationDelay, Double(published - start) / 1000)
        }
        return .success(manifest)
    }

    /// Rebuilds a representation's timeline: the period's segments before the window as one run
    /// from the period's start (`TimelineEntry(expiredSegments:from:to:)`), the older segments,
    /// then the ones in memory.
    private func extend(_ representation: inout DASHManifest.Representation, older: [DVREntry], members: [SegmentRecord],
                        periodFirst: Int) {
        guard let kind = TrackKind(rawValue: representation.id),
              let firstTime = older.first?.tracks[kind]?.startTime, let firstOlder = older.first else { return }
        var timeline: [DASHManifest.TimelineEntry] = []
        let expired = max(0, firstOlder.sequence - periodFirst)
        if let run = DASHManifest.TimelineEntry(expiredSegments: expired, from: representation.presentationTimeOffset, to: firstTime) {
            timeline.append(run)
        }
        let hasRun = !timeline.isEmpty
        for entry in older {
            guard let times = entry.tracks[kind], let time = times.startTime else { continue }
            DASHManifest.append(time: time, duration: times.ticks, to: &timeline)
        }
        for segment in members {
            guard let time = segment.startTime[kind] else { continue }
            DASHManifest.append(time: time, duration: segment.ticks(kind), to: &timeline)
        }
        representation.startNumber = hasRun ? 0 : expired
        representation.timeline = timeline
    }
}
