import Foundation

/// The DVR window and start-over of a stream's package (docs/DVR.md).
extension StreamPackage {
    /// Unix ms of the newest finished segment's program date: where `?start=-N` counts back
    /// from; nil before a segment is finished.
    public var liveEdge: Int64? {
        state.withLockedValue { state in state.timeline.segments.last(where: \.isComplete)?.programDate }
    }
}
