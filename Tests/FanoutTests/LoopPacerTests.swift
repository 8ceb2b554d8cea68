import NIOCore
import NIOEmbedded
import Testing
@testable import Fanout

@Suite struct LoopPacerTests {
    func pacer(_ policy: FlushPolicy = .init(), viewers: Int) -> LoopPacer {
        let pacer = LoopPacer(eventLoop: EmbeddedEventLoop(), policy: policy)
        for _ in 0..<viewers { pacer.viewerJoined() }
        return pacer
    }

    @Test func fewViewersAreWrittenAtOnce() {
        #expect(pacer(viewers: 1).window() == .zero)
        #expect(pacer(viewers: 50).window() == .zero)  // 50 × 4 µs / 0.4 = 0.5 ms: under the shortest window
    }

    @Test func theWindowGrowsWithViewersUpToTheLatencyBudget() {
        // 4 µs a viewer, at most 40 % of the loop's time: 2000 viewers → 20 ms, 8000 → 80 ms.
        #expect(pacer(viewers: 2000).window() == .milliseconds(20))
        #expect(pacer(viewers: 8000).window() == .milliseconds(80))
        #expect(pacer(viewers: 100_000).window() == .milliseconds(100))
        #expect(pacer(FlushPolicy(latencyBudget: .milliseconds(30)), viewers: 8000).window() == .milliseconds(30))
    }

    @Test func theWindowFollowsWhatWritesCost() {
        let measured = pacer(viewers: 4000)
        for _ in 0..<40 { measured.record(pass: .milliseconds(40), viewers: 4000) }  // 10 µs a viewer
        #expect(abs(measured.costPerViewer - 10_000) < 100)
        #expect(measured.window() > .milliseconds(99), "10 µs × 4000 / 0.4 is at the budget")
        for _ in 0..<40 { measured.record(pass: .milliseconds(4), viewers: 4000) }  // 1 µs: shorter again
        #expect(measured.window() < .milliseconds(11))
    }

    @Test func smallPassesDoNotMoveTheEstimate() {
        let quiet = pacer(viewers: 10)
        quiet.record(pass: .seconds(1), viewers: 10)
        #expect(quiet.costPerViewer == 4_000)
    }

    @Test func hostilePoliciesAreBounded() {
        let policy = FlushPolicy(latencyBudget: .milliseconds(-5), busyShare: .nan, shortest: .milliseconds(-1))
        #expect(policy.latencyBudget == .zero)
        #expect(policy.busyShare == 0.5)
        #expect(pacer(policy, viewers: 10_000).window() == .zero)
    }

    @Test func writesBeginAWindowApartAndLeaveTheLoopItsShare() throws {
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        #expect(pacer(viewers: 1).nextWrite(afterWritesFrom: start, to: start + .microseconds(5)) == nil, "few viewers: at once")
        let busy = pacer(viewers: 8000)  // 4 µs each: 80 ms windows
        #expect(busy.nextWrite(afterWritesFrom: start, to: start + .milliseconds(20)) == start + .milliseconds(80))
        // Writing took longer than the window: the loop still gets half a window to itself.
        let next = try #require(busy.nextWrite(afterWritesFrom: start, to: start + .milliseconds(90)))
        #expect(next == start + .milliseconds(130))
    }
}
