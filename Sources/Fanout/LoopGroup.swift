import NIOConcurrencyHelpers
import NIOCore

/// The viewers of one stream on one event loop. The publishing side queues frames under a
/// small lock and schedules one task per batch; on the loop the frames gather for the loop's
/// window (`LoopPacer`) and then go to every viewer at once as one `WindowBatch`, so the
/// publisher does one hop per loop and a viewer one write per window, not one per frame.
///
/// `viewers` and `window` are touched only on `eventLoop`; `pending` only under its lock.
final class LoopGroup: @unchecked Sendable {  // loop-confined state plus a locked hand-over box, as documented above
    let eventLoop: any EventLoop
    private let pacer: LoopPacer
    private var viewers: [ObjectIdentifier: Viewer] = [:]
    // Locked: reading tasks queue frames from any thread, the loop takes them in `scheduleDelivery`'s batch.
    private let pending = NIOLockedValueBox((frames: [PreparedFrame](), scheduled: false))
    /// Frames taken from `pending` and waiting for the window to close.
    private var window: [PreparedFrame] = []
    private var windowScheduled = false
    /// When the last window's writes began and ended: the next window is measured from their
    /// start, so a pass's own length is part of it rather than added to it.
    private var lastWrite = (start: NIODeadline.uptimeNanoseconds(0), end: NIODeadline.uptimeNanoseconds(0))

    init(eventLoop: any EventLoop, pacer: LoopPacer) {
        self.eventLoop = eventLoop
        self.pacer = pacer
    }

    var viewerCount: Int { viewers.count }

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
        if needsTask { eventLoop.execute { self.gather() } }
    }

    /// Takes what was queued into the window, and closes it now or when the pacer says: one
    /// window after the last one's writes began.
    private func gather() {
        takePending()
        guard !windowScheduled else { return }
        let now = NIODeadline.now()
        let due = pacer.nextWrite(afterWritesFrom: lastWrite.start, to: lastWrite.end) ?? now
        if due <= now {
            writeWindow()
        } else {
            windowScheduled = true
            eventLoop.scheduleTask(in: due - now) { self.writeWindow() }
        }
    }

    private func takePending() {
        pending.withLockedValue { pending in
            pending.scheduled = false
            window.append(contentsOf: pending.frames)
            pending.frames.removeAll(keepingCapacity: true)
        }
    }

    private func writeWindow() {
        windowScheduled = false
        guard !window.isEmpty else { return }
        let batch = WindowBatch(window)
        window.removeAll(keepingCapacity: true)
        let started = NIODeadline.now()
        for viewer in viewers.values { viewer.deliver(batch) }
        let ended = NIODeadline.now()
        lastWrite = (started, ended)
        pacer.record(pass: ended - started, viewers: viewers.count)
    }

    func add(_ viewer: Viewer) {
        eventLoop.assertInEventLoop()
        viewers[ObjectIdentifier(viewer)] = viewer
    }

    func remove(_ viewer: Viewer) {
        eventLoop.assertInEventLoop()
        viewers[ObjectIdentifier(viewer)] = nil
    }

    /// Writes what is queued, then tells every viewer the stream ended.
    func endAll() {
        eventLoop.execute {
            self.takePending()
            self.writeWindow()
            for viewer in self.viewers.values { viewer.streamEnded() }
            self.viewers.removeAll()
        }
    }
}
