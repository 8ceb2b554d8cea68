import NIOConcurrencyHelpers

/// Drop counters of viewers: the hub's counts every stream's (metrics and logs), a stream's
/// fan-out its own (the stream's history), which adds to its hub's too.
final class ViewerCounters: Sendable {
    /// Added to on every viewer's event loop, read by metrics; a lock, as a viewer cannot await.
    private let counts = NIOLockedValueBox((gops: 0, frames: 0))
    private let parent: ViewerCounters?

    init(parent: ViewerCounters? = nil) {
        self.parent = parent
    }

    func recordDrops(gops: Int, frames: Int) {
        guard gops > 0 || frames > 0 else { return }
        counts.withLockedValue {
            $0.gops += gops
            $0.frames += frames
        }
        parent?.recordDrops(gops: gops, frames: frames)
    }

    var droppedGOPs: Int { counts.withLockedValue { $0.gops } }
    var droppedFrames: Int { counts.withLockedValue { $0.frames } }
}
