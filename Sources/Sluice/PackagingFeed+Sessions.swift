import Events
import Packager
import State

extension PackagingFeed {
    /// Streams read on demand from where session state says their newest segments start: the
    /// source's and every rendition's headers first, the source from its oldest recorded segment
    /// start, the renditions (one partition for all of them) from the oldest of theirs.
    static func fromSessionState(_ sessions: any SessionStore) -> PackagingFeed {
        PackagingFeed { stream in
            guard let start = try await sessions.packagingStart(of: stream) else { return nil }
            let renditions = start.renditions.sorted { $0.key < $1.key }.map(\.value)
            return Start(headers: start.source.headers + renditions.flatMap(\.headers), sourceOffset: start.source.offset,
                         renditionsOffset: renditions.compactMap(\.offset).min())
        }
    }
}
