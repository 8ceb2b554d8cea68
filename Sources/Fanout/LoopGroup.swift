import NIOConcurrencyHelpers
import NIOCore

/// The viewers of one stream on one event loop. Frames are queued under a small lock by the
/// publishing side and delivered on the loop in one task per batch, so the publisher does one
/// hop per loop, not one per viewer.
///
/// `viewers` is touched only on `eventLoop`; `pending` only under its lock.
final class LoopGroup: @unchecked Sendable {
    let eventLoop: any EventLoop
    private let flusher: LoopFlusher
    private var viewers: [ObjectIdentifier: Viewer] = [:]
    // Locked: reading tasks queue frames from any thread, the loop takes them in `scheduleDelivery`'s batch.
    private let pending = NIOLockedValueBox((frames: [PreparedFrame](), scheduled: false))

    init(eventLoop: any EventLoop, flusher: LoopFlusher) {
        self.eventLoop = eventLoop
        self.flusher = flusher
    }

    /// Queues a frame; returns self so the caller can schedule delivery outside its own lock.
    func enqueue(_ frame: PreparedFrame) -> LoopGroup {
        pending.withLockedValue { $0.frames.append(frame) }
        return self
    }

    func scheduleDelivery() {
        let needsTask = pending.withLockedValue { pending -> Bool in
            guard !pending.scheduled, !pending.frames.isEmpty else { return false }
            pending.scheduled = true
            return true
        }
        if needsTask { eventLoop.execute { self.deliverPending() } }
    }

    private func deliverPending() {
        let frames = pending.withLockedValue { pending -> [PreparedFrame] in
            pending.scheduled = false
            defer { pending.frames.removeAll(keepingCapacity: true) }
            return pending.frames
        }
        for frame in frames {
            for viewer in viewers.values { viewer.deliver(frame) }
        }
    }

    func add(_ viewer: Viewer) {
        eventLoop.assertInEventLoop()
        viewers[ObjectIdentifier(viewer)] = viewer
    }

    func remove(_ viewer: Viewer) {
        eventLoop.assertInEventLoop()
        viewers[ObjectIdentifier(viewer)] = nil
    }

    func endAll() {
        eventLoop.execute {
            self.deliverPending()
            for viewer in self.viewers.values { viewer.streamEnded() }
            self.viewers.removeAll()
        }
    }
}
