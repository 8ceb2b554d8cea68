import NIOConcurrencyHelpers
import NIOCore

/// How long a loop may gather writes before flushing: flushing every viewer after every frame
/// costs one syscall per frame per viewer, so the window grows with the number of viewers on
/// the loop, and stays zero (flush at the end of the current tick) while they are few.
public struct FlushPolicy: Sendable {
    /// Below this many viewers on a loop, flush at once. Default 64.
    public var immediateBelow: Int
    /// Window added per viewer on a loop. Default 10 µs (2000 viewers: 20 ms).
    public var perViewer: TimeAmount
    /// Longest window. Default 40 ms (reached at 4000 viewers on a loop).
    public var maximum: TimeAmount

    public init(immediateBelow: Int = 64, perViewer: TimeAmount = .microseconds(10),
                maximum: TimeAmount = .milliseconds(40)) {
        self.immediateBelow = immediateBelow
        self.perViewer = perViewer
        self.maximum = maximum
    }

    func window(viewers: Int) -> TimeAmount {
        guard viewers >= immediateBelow else { return .zero }
        return min(maximum, .nanoseconds(perViewer.nanoseconds * Int64(viewers)))
    }
}

/// Gathers the flushes of every viewer on one event loop into one pass per window.
///
/// Confined to `eventLoop`; `@unchecked Sendable` so the registry can hand it out, never
/// touched elsewhere.
final class LoopFlusher: @unchecked Sendable {
    let eventLoop: any EventLoop
    private let policy: FlushPolicy
    private var dirty: [Viewer] = []
    private var scheduled = false
    /// Viewers on the loop: the window grows with them.
    private var viewerCount = 0

    init(eventLoop: any EventLoop, policy: FlushPolicy) {
        self.eventLoop = eventLoop
        self.policy = policy
    }

    func viewerJoined() { viewerCount += 1 }
    func viewerLeft() { viewerCount -= 1 }

    /// Flushes `viewer` at the end of the window (it asks once per window: `Viewer.markDirty`).
    func flushSoon(_ viewer: Viewer) {
        dirty.append(viewer)
        guard !scheduled else { return }
        scheduled = true
        let window = policy.window(viewers: viewerCount)
        if window == .zero {
            eventLoop.execute { self.flush() }
        } else {
            eventLoop.scheduleTask(in: window) { self.flush() }
        }
    }

    private func flush() {
        scheduled = false
        let batch = dirty
        dirty.removeAll(keepingCapacity: true)
        for viewer in batch { viewer.flush() }
    }
}

/// One `LoopFlusher` per event loop, created on first use.
final class FlusherRegistry: Sendable {
    /// The flusher of each loop, asked for from every event loop as viewers attach and leave; so a lock.
    private let flushers = NIOLockedValueBox([ObjectIdentifier: LoopFlusher]())
    private let policy: FlushPolicy

    init(policy: FlushPolicy) {
        self.policy = policy
    }

    func flusher(for eventLoop: any EventLoop) -> LoopFlusher {
        flushers.withLockedValue { flushers in
            let key = ObjectIdentifier(eventLoop)
            if let existing = flushers[key] { return existing }
            let flusher = LoopFlusher(eventLoop: eventLoop, policy: policy)
            flushers[key] = flusher
            return flusher
        }
    }
}
