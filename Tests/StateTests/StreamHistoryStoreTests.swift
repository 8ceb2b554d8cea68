import Events
import Foundation
import State
import Testing
import TestSupport

/// Viewer reports and one-second history in session state, on both implementations (Redis: a
/// real `redis-server` per test).
@Suite struct StreamHistoryStoreTests {
    let stream = StreamID("cam1")!
    let other = StreamID("cam2")!

    @Test func theRingKeepsTheNewestInOrder() {
        var ring = SampleRing<Int>(capacity: 3)
        #expect(ring.last(5).isEmpty)
        ring.append(1)
        ring.append(2)
        #expect(ring.last(5) == [1, 2])
        for value in 3...7 { ring.append(value) }
        #expect(ring.count == 3)
        #expect(ring.last(3) == [5, 6, 7])
        #expect(ring.last(2) == [6, 7])
        #expect(ring.last(0).isEmpty)
        #expect(ring.last(-1).isEmpty)
    }

    @Test(arguments: SessionStoreTests.Kind.allCases)
    func reportsAreSummedPerNodeUntilTheyExpire(_ kind: SessionStoreTests.Kind) async throws {
        let (store, stop) = try SessionStoreTests().store(kind)
        defer { stop() }
        #expect(try await store.viewerCounts().isEmpty)
        try await store.setViewerCounts([stream: ["hls": 2, "flv": 1]], node: "a", ttl: .seconds(30))
        try await store.setViewerCounts([stream: ["hls": 1], other: ["dash": 4]], node: "b", ttl: .seconds(5))
        let both = try await store.viewerCounts()
        #expect(both == ["a": [stream: ["hls": 2, "flv": 1]], "b": [stream: ["hls": 1], other: ["dash": 4]]])
        try await store.setViewerCounts([stream: ["hls": 3]], node: "a", ttl: .seconds(30))
        #expect(try await store.viewerCounts()["a"] == [stream: ["hls": 3]], "a report replaces the node's last")
        // Long enough to read both reports first on a busy machine (a 2 s report expired before
        // the reads of a loaded test process).
        try await Task.sleep(for: .milliseconds(5300))
        #expect(try await store.viewerCounts() == ["a": [stream: ["hls": 3]]], "b stopped reporting")
    }

    @Test(arguments: SessionStoreTests.Kind.allCases)
    func historyKeepsTheNewestHourOldestFirst(_ kind: SessionStoreTests.Kind) async throws {
        let (store, stop) = try SessionStoreTests().store(kind)
        defer { stop() }
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let kept = InMemorySessionStore.historyKept
        for second in 0..<(kept + 5) {
            let sample = StreamSample(at: start.addingTimeInterval(Double(second)), ingestKbps: Double(second), frameRate: 30,
                                      keyframeIntervalSeconds: 2, audioKbps: 128, viewers: ["llhls": second % 3])
            try await store.appendSample(sample, of: stream, ttl: .seconds(60))
        }
        let last = try await store.samples(of: stream, last: 3)
        #expect(last.map(\.ingestKbps) == [Double(kept + 2), Double(kept + 3), Double(kept + 4)])
        #expect(last.last?.viewers == ["llhls": (kept + 4) % 3])
        #expect(last.last?.at == start.addingTimeInterval(Double(kept + 4)))
        let all = try await store.samples(of: stream, last: kept + 100)
        #expect(all.count == kept)
        #expect(all.first?.ingestKbps == 5)
        #expect(try await store.samples(of: other, last: 10).isEmpty)
        try await store.appendSample(StreamSample(at: start), of: other, ttl: .seconds(2))
        #expect(try await store.samples(of: other, last: 10).count == 1)
        try await Task.sleep(for: .milliseconds(2300))
        #expect(try await store.samples(of: other, last: 10).isEmpty, "expired after its TTL")
    }
}
