import NIOConcurrencyHelpers

/// Drop counters shared by every viewer of every stream, read by metrics and logs.
final class ViewerCounters: Sendable {
    /// Added to on every viewer's event loop, read by metrics; a lock, as a viewer cannot await.
    private let counts = NIOLockedValueBox((gops: 0, frames: 0))

    func recordDrops(gops: Int, frames: Int) {
        guard gops > 0 || frames > 0 else { return }
        counts.withLockedValue {
            $0.gops += gops
            $0.frames += frames
        }
    }

    var droppedGOPs: Int { counts.withLockedValue { $0.gops } }
    var droppedFrames: Int { counts.withLockedValue { $0.frames } }
}
