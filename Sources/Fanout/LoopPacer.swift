import NIOConcurrencyHelpers
import NIOCore

/// How long an event loop gathers a stream's frames before writing them to its viewers.
///
/// Writing costs about the same per viewer whether it carries one frame or ten (a pipeline pass
/// and a `writev`, most of it in the kernel), so as viewers grow the loop writes less often and
/// more at a time: the window is as long as it must be for the writes to take no more than
/// `busyShare` of the loop's time, measured as it runs, and never longer than `latencyBudget`.
/// With few viewers the window is zero and a frame goes out in the tick it arrived in.
public struct FlushPolicy: Sendable {
    /// Longest a frame may wait for its window, and so most of the latency the fan-out adds
    /// under load. Default 100 ms.
    public var latencyBudget: TimeAmount
    /// Share of the loop's time that writing to viewers may take before the window grows;
    /// the rest is left for new viewers, requests and other streams. Default 0.4.
    public var busyShare: Double
    /// A window shorter than this is not worth a timer: frames go out at once. Default 1 ms.
    public var shortest: TimeAmount

    public init(latencyBudget: TimeAmount = .milliseconds(100), busyShare: Double = 0.4,
                shortest: TimeAmount = .milliseconds(1)) {
        self.latencyBudget = max(.zero, latencyBudget)
        self.busyShare = busyShare.isFinite ? min(1, max(0.05, busyShare)) : 0.5
        self.shortest = max(.zero, shortest)
    }

    /// Every batch is written as soon as the loop takes it (tests; benchmarks that make their own windows).
    public static let immediate = FlushPolicy(latencyBudget: .zero)
}

/// One event loop's pace: its viewers, what writing to one of them has cost lately, and from
/// those the window every stream on the loop gathers for.
///
/// Confined to `eventLoop`; `@unchecked Sendable` so the registry can hand it out, never
/// touched elsewhere.
final class LoopPacer: @unchecked Sendable {
    let eventLoop: any EventLoop
    private let policy: FlushPolicy
    private(set) var viewerCount = 0
    /// Nanoseconds one viewer's write of a window took, smoothed over recent passes. Starts at
    /// a loopback TCP `writev`'s usual cost so the first windows are about right.
    private(set) var costPerViewer: Double = 4_000
    /// Passes with fewer viewers are too short to time well; they say little about load.
    private static let smallestTimedPass = 32

    init(eventLoop: any EventLoop, policy: FlushPolicy) {
        self.eventLoop = eventLoop
        self.policy = policy
    }

    func viewerJoined() { viewerCount += 1 }
    func viewerLeft() { viewerCount -= 1 }

    /// How long frames arriving now wait before they are written.
    func window() -> TimeAmount {
        let busy = Double(viewerCount) * costPerViewer / policy.busyShare
        guard busy >= Double(policy.shortest.nanoseconds) else { return .zero }
        return .nanoseconds(min(policy.latencyBudget.nanoseconds, Int64(busy)))
    }

    /// When the next window's writes may begin, after writes that ran from `start` to `end`;
    /// nil: at once. One window after `start`, so a pass's own length is part of the window
    /// rather than added to it; but when writing took longer than a window (more viewers than
    /// the budget can serve at the busy share), at least half a window after `end`, so new
    /// viewers and requests are still served. That gap is bounded, so however much the bytes
    /// themselves cost, the windows cannot grow without end.
    func nextWrite(afterWritesFrom start: NIODeadline, to end: NIODeadline) -> NIODeadline? {
        let length = window()
        guard length > .zero else { return nil }
        return max(start + length, end + .nanoseconds(length.nanoseconds / 2))
    }

    /// A stream's window went to `viewers` viewers in `duration`.
    func record(pass duration: TimeAmount, viewers: Int) {
        guard viewers >= Self.smallestTimedPass else { return }
        let cost = Double(duration.nanoseconds) / Double(viewers)
        costPerViewer += (cost - costPerViewer) / 4
    }
}

/// One `LoopPacer` per event loop, created on first use.
final class LoopPacers: Sendable {
    /// The pacer of each loop, asked for from every event loop as viewers attach and leave; so a lock.
    private let pacers = NIOLockedValueBox([ObjectIdentifier: LoopPacer]())
    private let policy: FlushPolicy

    init(policy: FlushPolicy) {
        self.policy = policy
    }

    func pacer(for eventLoop: any EventLoop) -> LoopPacer {
        pacers.withLockedValue { pacers in
            let key = ObjectIdentifier(eventLoop)
            if let existing = pacers[key] { return existing }
            let pacer = LoopPacer(eventLoop: eventLoop, policy: policy)
            pacers[key] = pacer
            return pacer
        }
    }
}
