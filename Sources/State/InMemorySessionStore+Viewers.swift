import Events
import NIOConcurrencyHelpers
import NIOCore

/// Viewer reports and one-second history for `sluice serve`, beside the other session state.
final class InMemoryViewerRecords: Sendable {
    /// Streams whose history is kept at once; appending for one more forgets the stream whose
    /// newest sample is oldest. An hour of samples is a few hundred kilobytes per stream.
    static let maxHistoryStreams = 256

    private struct History {
        var ring = SampleRing<StreamSample>(capacity: InMemorySessionStore.historyKept)
        var expiresAt: NIODeadline
    }

    private struct Records {
        var counts: [String: (counts: [StreamID: [String: Int]], expiresAt: NIODeadline)] = [:]
        var histories: [StreamID: History] = [:]
    }

    // A lock: reports and samples are a few dictionary steps that never suspend.
    private let records = NIOLockedValueBox(Records())

    func setCounts(_ counts: [StreamID: [String: Int]], node: String, ttl: Duration) {
        let now = NIODeadline.now()
        records.withLockedValue { records in
            records.counts[node] = (counts, now + TimeAmount(ttl))
            records.counts = records.counts.filter { $0.value.expiresAt > now }
        }
    }

    func counts() -> [String: [StreamID: [String: Int]]] {
        let now = NIODeadline.now()
        return records.withLockedValue { records in
            records.counts.filter { $0.value.expiresAt > now }.mapValues(\.counts)
        }
    }

    func append(_ sample: StreamSample, of stream: StreamID, ttl: Duration) {
        let now = NIODeadline.now()
        records.withLockedValue { records in
            if records.histories[stream] == nil {
                records.histories = records.histories.filter { $0.value.expiresAt > now }
                if records.histories.count >= Self.maxHistoryStreams,
                   let oldest = records.histories.min(by: { $0.value.expiresAt < $1.value.expiresAt })?.key {
                    records.histories[oldest] = nil
                }
            }
            var history = records.histories[stream] ?? History(expiresAt: now)
            history.ring.append(sample)
            history.expiresAt = now + TimeAmount(ttl)
            records.histories[stream] = history
        }
    }

    func samples(of stream: StreamID, last count: Int) -> [StreamSample] {
        let now = NIODeadline.now()
        return records.withLockedValue { records in
            guard let history = records.histories[stream], history.expiresAt > now else { return [] }
            return history.ring.last(count)
        }
    }
}

extension InMemorySessionStore {
    public func setViewerCounts(_ counts: [StreamID: [String: Int]], node: String, ttl: Duration) async throws {
        viewerRecords.setCounts(counts, node: node, ttl: ttl)
    }

    public func viewerCounts() async throws -> [String: [StreamID: [String: Int]]] {
        viewerRecords.counts()
    }

    public func appendSample(_ sample: StreamSample, of stream: StreamID, ttl: Duration) async throws {
        viewerRecords.append(sample, of: stream, ttl: ttl)
    }

    public func samples(of stream: StreamID, last count: Int) async throws -> [StreamSample] {
        viewerRecords.samples(of: stream, last: count)
    }
}
