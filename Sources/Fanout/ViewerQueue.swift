import NIOCore

/// The frames a viewer's connection could not take yet, bounded by media duration. When the
/// backlog spans more than `maxDuration`, whole GOPs are dropped: everything before the newest
/// random-access point goes, or, without one, everything until the next one arrives.
/// Configuration frames are never dropped.
struct ViewerQueue {
    private(set) var frames = CircularBuffer<PreparedFrame>()
    /// Milliseconds of media the queue may span. Default 2000.
    let maxDuration: Int64
    private(set) var waitingForRandomAccess = false
    private(set) var droppedGOPs = 0
    private(set) var droppedFrames = 0

    init(maxDuration: Int64 = 2000) {
        self.maxDuration = maxDuration
    }

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
        if let first = frames.first(where: { !$0.isConfiguration }), frame.dts - first.dts > maxDuration {
            dropGOPs()
        }
    }

    /// Called when a frame was written directly; a later backlog must then start at a random-access point.
    mutating func passed(_ frame: PreparedFrame) {
        if frame.isRandomAccess { waitingForRandomAccess = false }
    }

    mutating func pop() -> PreparedFrame? {
        frames.isEmpty ? nil : frames.removeFirst()
    }

    private mutating func dropGOPs() {
        droppedGOPs += 1
        // Keep the newest GOP if it alone fits the bound; otherwise drop it too and wait for the next.
        var keepFrom = frames.endIndex
        if let last = frames.lastIndex(where: { $0.isRandomAccess }),
           let newest = frames.last, newest.dts - frames[last].dts <= maxDuration {
            keepFrom = last
        }
        var kept = CircularBuffer<PreparedFrame>(initialCapacity: frames.count)
        for (index, frame) in zip(frames.indices, frames) {
            if index >= keepFrom || frame.isConfiguration {
                kept.append(frame)
            } else {
                droppedFrames += 1
            }
        }
        waitingForRandomAccess = keepFrom == frames.endIndex
        frames = kept
    }
}
