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
        #expect(pacer(viewers: 100).window() == .zero)  // 100 × 4 µs / 0.5 = 0.8 ms: under the shortest window
    }

    @Test func theWindowGrowsWithViewersUpToTheLatencyBudget() {
        // 4 µs a viewer, at most half the loop's time: 2000 viewers → 16 ms, 8000 → 64 ms.
        #expect(pacer(viewers: 2000).window() == .milliseconds(16))
        #expect(pacer(viewers: 8000).window() == .milliseconds(64))
        #expect(pacer(viewers: 100_000).window() == .milliseconds(100))
        #expect(pacer(FlushPolicy(latencyBudget: .milliseconds(30)), viewers: 8000).window() == .milliseconds(30))
    }

    @Test func theWindowFollowsWhatWritesCost() {
        let measured = pacer(viewers: 4000)
        for _ in 0..<40 { measured.record(pass: .milliseconds(40), viewers: 4000) }  // 10 µs a viewer
        #expect(abs(measured.costPerViewer - 10_000) < 100)
        #expect(abs(measured.window().nanoseconds - 80_000_000) < 100_000)
        for _ in 0..<40 { measured.record(pass: .milliseconds(4), viewers: 4000) }  // 1 µs: shorter again
        #expect(measured.window() < .milliseconds(10))
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
}
