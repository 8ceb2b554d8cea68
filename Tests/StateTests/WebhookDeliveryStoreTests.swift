import Foundation
import State
import Testing

/// The `WebhookDeliveryStore` contract: in memory (one node) and PostgreSQL (what one node
/// records, another lists).
@Suite struct WebhookDeliveryStoreTests {
    enum Kind: String, CaseIterable, Sendable {
        case memory, postgres
    }

    /// A store to record into, one to list from, and the server if there is one.
    static func make(_ kind: Kind, capacity: Int) async throws -> (any WebhookDeliveryStore, any WebhookDeliveryStore, PostgresTestDatabase?) {
        switch kind {
        case .memory:
            let log = WebhookDeliveryLog(capacity: capacity)
            return (log, log, nil)
        case .postgres:
            let database = try await PostgresTestDatabase.start()
            let other = try await database.open()
            return (PostgresWebhookDeliveryStore(storage: database.storage, capacity: capacity),
                    PostgresWebhookDeliveryStore(storage: other, capacity: capacity), database)
        }
    }

    private func delivery(_ event: String, _ url: String = "https://hooks.example.com/a", status: WebhookDelivery.Status = .retrying,
                          attempts: Int = 1, type: String = "stream.started") -> WebhookDelivery {
        WebhookDelivery(eventID: event, eventType: type, streamID: "cam1", url: url, status: status, attempts: attempts,
                        httpStatus: status == .delivered ? 204 : nil, error: status == .delivered ? nil : "connection refused",
                        updatedAt: Date(timeIntervalSince1970: 1_800_000_000.5))
    }

    @Test(arguments: Kind.allCases) func attemptsUpdateOneEntryNewestFirst(_ kind: Kind) async throws {
        let (writer, reader, database) = try await Self.make(kind, capacity: 3)
        try await writer.record(delivery("e1"))
        try await writer.record(delivery("e2"))
        try await writer.record(delivery("e1", status: .delivered, attempts: 2))
        let recent = try await reader.recent()
        #expect(recent == [delivery("e1", status: .delivered, attempts: 2), delivery("e2")])
        try await writer.record(delivery("e2", "https://hooks.example.com/b"))
        try await writer.record(delivery("e3", status: .failed, attempts: 6))
        let kept = try await reader.recent()
        #expect(kept.map { "\($0.eventID) \($0.url.suffix(1))" } == ["e3 a", "e2 b", "e1 a"], "only the newest three are kept")
        #expect(kept.first?.status == .failed && kept.first?.attempts == 6)
        await database?.shutDown()
    }

    /// The reported case: a stream snapshotting every second, stopped and published again.
    @Test(arguments: Kind.allCases) func aFloodOfOneEventTypeKeepsTheOthersListed(_ kind: Kind) async throws {
        let (writer, reader, database) = try await Self.make(kind, capacity: 3)
        try await writer.record(delivery("online", status: .delivered, type: "stream.online"))
        for index in 0..<10 { try await writer.record(delivery("snap\(index)", status: .delivered, type: "snapshot.ready")) }
        try await writer.record(delivery("offline", status: .delivered, type: "stream.offline"))
        for index in 10..<20 { try await writer.record(delivery("snap\(index)", status: .delivered, type: "snapshot.ready")) }
        let listed = try await reader.recent().map(\.eventID)
        #expect(listed == ["snap19", "snap18", "snap17", "offline", "online"])
        await database?.shutDown()
    }
}
