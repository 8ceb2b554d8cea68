import Events
import Media
import NIOCore
@testable import Packager

/// What the DVR archive reads back from its index: a segment's JSON record.
enum DVRTargets {
    static let all = [record]

    /// `DVRSegment(record:)`: a record read back must be sound, write itself again as a record
    /// that reads back the same, and agree with the index row made from it.
    static let record = FuzzTarget("dvr-record", "DVRSegment(record:) round trip, DVRArchive.segment(entry)") { input in
        guard let segment = DVRSegment(record: input.fuzzText) else { return }
        precondition(segment.isSound, "unsound segment read: \(segment)")
        let again = DVRSegment(record: segment.record)
        precondition(again == segment, "\(segment) writes a record that reads back as \(String(describing: again))")
        precondition(DVRArchive.segment(segment.entry(of: StreamID("s")!)) == segment, "its own row disagrees: \(segment)")
        _ = (segment.dashNumber, segment.programDateMilliseconds, segment.tracks.map(\.trackKind))
        // What the edge's MPD does with the times read back: runs of segments add up.
        var timeline: [DASHManifest.TimelineEntry] = []
        for track in segment.tracks {
            for _ in 0..<3 { DASHManifest.append(time: track.startTime ?? 0, duration: track.ticks, to: &timeline) }
            DASHManifest.append(time: timeline.last?.end ?? 0, duration: track.ticks, to: &timeline)
            _ = timeline.map(\.end)
        }
    }
}
