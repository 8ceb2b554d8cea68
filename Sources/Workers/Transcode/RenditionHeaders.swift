import Events
import NIOConcurrencyHelpers

/// Each rendition's current decoder configurations and metadata, as one stream's transcoder
/// publishes them: what a reader that joins a rendition mid-session needs first (session state
/// keeps them for packagers on other nodes).
final class RenditionHeaders: Sendable {
    /// Touched only by the transcoder's publish closure, on its queue; the lock just makes the class `Sendable`.
    private let current = NIOLockedValueBox<[String: [MediaFrame]]>([:])

    /// The renditions whose headers `frames` change, with their headers now (metadata, audio,
    /// video: one of each kind, the newest).
    func changes(_ frames: [MediaFrame]) -> [(rendition: String, headers: [MediaFrame])] {
        current.withLockedValue { current in
            var changed: [String] = []
            for frame in frames where frame.isConfiguration && !frame.rendition.isEmpty {
                var headers = current[frame.rendition] ?? []
                headers.removeAll { $0.kind == frame.kind }
                headers.append(frame)
                headers.sort { $0.kind.rawValue > $1.kind.rawValue }
                current[frame.rendition] = headers
                if !changed.contains(frame.rendition) { changed.append(frame.rendition) }
            }
            return changed.map { ($0, current[$0] ?? []) }
        }
    }
}
