import Events
import Packager
import State

extension PackagingFeed {
    /// Streams read on demand from where session state says their newest segments start: the
    /// source's and every rendition's headers first, the source from its oldest recorded segment
    /// start, the renditions (one partition for all of them) from the oldest of theirs.
    ///
    /// A stream asked for in its first moments has no segment start recorded yet (and maybe no
    /// headers): reading it from now would miss its headers for good, so the start is asked
    /// again until the first segment start is there (ingest records it when the bus acknowledges
    /// the frame, within a few hundred milliseconds), for at most `firstSegmentSeconds`.
    static func fromSessionState(_ sessions: any SessionStore, firstSegmentSeconds: Double = 5) -> PackagingFeed {
        PackagingFeed { stream in
            let deadline = ContinuousClock.now + .milliseconds(Int(firstSegmentSeconds * 1000))
            var start = try await sessions.packagingStart(of: stream)
            while let pending = start, pending.source.offset == nil, ContinuousClock.now < deadline, !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(100))
                start = try await sessions.packagingStart(of: stream)
            }
            guard let start else { return nil }
            let renditions = start.renditions.sorted { $0.key < $1.key }.map(\.value)
            return Start(headers: start.source.headers + renditions.flatMap(\.headers), sourceOffset: start.source.offset,
                         renditionsOffset: renditions.compactMap(\.offset).min())
        }
    }
}
