import Events
import NIOConcurrencyHelpers

/// Health warnings for `sluice serve`, beside the other session state.
final class InMemoryHealthRecords: Sendable {
    /// Streams whose warnings are kept at once; a new one past it forgets the oldest entry.
    static let maxStreams = 4096

    // A lock: each call is a dictionary step that never suspends.
    private let records = NIOLockedValueBox([StreamID: StreamHealthRecord]())

    func set(_ record: StreamHealthRecord, of stream: StreamID) {
        records.withLockedValue { records in
            if records[stream] == nil, records.count >= Self.maxStreams, let any = records.keys.first { records[any] = nil }
            records[stream] = record.warnings.isEmpty ? nil : record
        }
    }

    func record(of stream: StreamID) -> StreamHealthRecord? {
        records.withLockedValue { $0[stream] }
    }
}

extension InMemorySessionStore {
    public func setHealth(_ warnings: [HealthWarning], of stream: StreamID, sessionID: UInt64) async throws {
        healthRecords.set(StreamHealthRecord(sessionID: sessionID, warnings: warnings), of: stream)
    }

    public func health(of stream: StreamID, sessionID: UInt64) async throws -> [HealthWarning] {
        guard let record = healthRecords.record(of: stream), record.sessionID == sessionID else { return [] }
        return record.warnings
    }
}
