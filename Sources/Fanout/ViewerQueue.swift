import Events
import NIOCore

/// The frames a viewer's connection could not take yet, bounded by media duration, by bytes and
/// by frames: a publisher whose timestamps stand still never makes the backlog span any time,
/// so duration alone would let it grow without end. When the backlog passes a bound, whole GOPs
/// are dropped: everything before the newest random-access point goes, or, without one,
/// everything until the next one arrives. Configuration frames are never dropped, but of those
/// in a dropped stretch only the newest of each kind is kept (it supersedes the others).
struct ViewerQueue {
    struct Limits: Sendable, Hashable {
        /// Milliseconds of media the queue may span. Default 2000.
        var duration: Int64 = 2000
        /// FLV bytes the queue may hold. Default 8 MiB (2 s at 33 Mbit/s).
        var bytes: Int = 8 << 20
        /// Frames the queue may hold. Default 4096 (about 35 s of 60 fps video with audio).
        var frames: Int = 4096
    }

    private(set) var frames = CircularBuffer<PreparedFrame>()
    let limits: Limits
    /// FLV bytes of the frames queued.
    private(set) var bytes = 0
    private(set) var waitingForRandomAccess = false
    private(set) var droppedGOPs = 0
    private(set) var droppedFrames = 0

    init(limits: Limits) {
        self.limits = limits
    }

    init(maxDuration: Int64 = 2000) {
        self.init(limits: Limits(duration: maxDuration))
    }

    var maxDuration: Int64 { limits.duration }
    var isEmpty: Bool { frames.isEmpty }

    /// Whether a frame may skip the queue and be written at once.
    func canBypass(_ frame: PreparedFrame) -> Bool {
        frames.isEmpty && (!waitingForRandomAccess || frame.isRandomAccess || frame.isConfiguration)
    }

    /// Accepts a frame the viewer's connection had no room for.
    mutating func push(_ frame: PreparedFrame) {
        if waitingForRandomAccess, !frame.isConfiguration {
            guard frame.isRandomAccess else {
                droppedFrames += 1
                return
            }
            waitingForRandomAccess = false
        }
        frames.append(frame)
        bytes += frame.flvTag.readableBytes
        if isOverLimits { dropGOPs() }
    }

    /// Called when a frame was written directly; a later backlog must then start at a random-access point.
    mutating func passed(_ frame: PreparedFrame) {
        if frame.isRandomAccess { waitingForRandomAccess = false }
    }

    mutating func pop() -> PreparedFrame? {
        guard !frames.isEmpty else { return nil }
        let frame = frames.removeFirst()
        bytes -= frame.flvTag.readableBytes
        return frame
    }

    private var isOverLimits: Bool {
        guard bytes <= limits.bytes, frames.count <= limits.frames else { return true }
        guard let first = frames.first(where: { !$0.isConfiguration }), let last = frames.last else { return false }
        return Self.span(from: first.dts, to: last.dts) > limits.duration
    }

    /// Milliseconds from `start` to `end`, 0 when `end` is earlier, without overflow for any
    /// timestamps a publisher sends.
    static func span(from start: Int64, to end: Int64) -> Int64 {
        let (span, overflow) = end.subtractingReportingOverflow(start)
        return overflow ? (end > start ? .max : 0) : max(span, 0)
    }

    private mutating func dropGOPs() {
        droppedGOPs += 1
        // Keep the newest GOP if it alone fits the bounds; otherwise drop it too and wait for the next.
        var keepFrom = frames.endIndex
        if let last = frames.lastIndex(where: { $0.isRandomAccess }), fits(frames[last...]) {
            keepFrom = last
        }
        let newestConfiguration = newestConfigurations(before: keepFrom)
        var kept = CircularBuffer<PreparedFrame>(initialCapacity: frames.count)
        bytes = 0
        for (index, frame) in zip(frames.indices, frames) {
            if index >= keepFrom || newestConfiguration.contains(index) {
                kept.append(frame)
                bytes += frame.flvTag.readableBytes
            } else {
                droppedFrames += 1
            }
        }
        waitingForRandomAccess = keepFrom == frames.endIndex
        frames = kept
    }

    private func fits(_ gop: CircularBuffer<PreparedFrame>.SubSequence) -> Bool {
        guard let first = gop.first, let newest = gop.last, gop.count <= limits.frames else { return false }
        let gopBytes = gop.reduce(0) { $0 + $1.flvTag.readableBytes }
        return gopBytes <= limits.bytes && Self.span(from: first.dts, to: newest.dts) <= limits.duration
    }

    /// Indexes of the newest metadata, video and audio configuration frames before `end`.
    private func newestConfigurations(before end: CircularBuffer<PreparedFrame>.Index) -> [CircularBuffer<PreparedFrame>.Index] {
        var newest: [MediaFrame.Kind: CircularBuffer<PreparedFrame>.Index] = [:]
        for index in frames.indices where index < end && frames[index].isConfiguration {
            newest[frames[index].kind] = index
        }
        return Array(newest.values)
    }
}
