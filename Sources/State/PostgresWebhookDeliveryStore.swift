import Foundation
import PostgresNIO

/// Webhook deliveries in the cluster's PostgreSQL database, so every API node lists what every
/// webhook worker delivered: one row per event and receiver, updated as its attempts go, the
/// newest `capacity` of each event type kept (snapshots every second must not push a stream's
/// `stream.online` and `stream.offline` out of the list).
public final class PostgresWebhookDeliveryStore: WebhookDeliveryStore {
    private let storage: PostgresStorage
    private let capacity: Int

    /// - Parameter capacity: how many deliveries of each event type are kept and listed (default 200, as in memory).
    public init(storage: PostgresStorage, capacity: Int = 200) {
        self.storage = storage
        self.capacity = max(1, capacity)
    }

    public func record(_ delivery: WebhookDelivery) async throws {
        let keep = capacity
        try await storage.transaction("record webhook delivery") { connection in
            try await connection.query("""
                INSERT INTO webhook_deliveries
                    (event_id, url, event_type, stream_id, status, attempts, http_status, error, updated_at, recorded)
                VALUES (\(delivery.eventID), \(delivery.url), \(delivery.eventType), \(delivery.streamID),
                        \(delivery.status.rawValue), \(Int32(clamping: delivery.attempts)),
                        \(delivery.httpStatus.map { Int32(clamping: $0) }), \(delivery.error),
                        \(delivery.updatedAt.timeIntervalSince1970), nextval('webhook_delivery_order'))
                ON CONFLICT (event_id, url) DO UPDATE SET
                    event_type = EXCLUDED.event_type, stream_id = EXCLUDED.stream_id, status = EXCLUDED.status,
                    attempts = EXCLUDED.attempts, http_status = EXCLUDED.http_status, error = EXCLUDED.error,
                    updated_at = EXCLUDED.updated_at, recorded = EXCLUDED.recorded
                """, logger: connection.logger)
            try await connection.query("""
                DELETE FROM webhook_deliveries WHERE event_type = \(delivery.eventType) AND recorded <= (
                    SELECT recorded FROM webhook_deliveries WHERE event_type = \(delivery.eventType)
                    ORDER BY recorded DESC OFFSET \(keep) LIMIT 1)
                """, logger: connection.logger)
        }
    }

    /// Bounds a listing if rows of many event types were kept (there are about a dozen).
    private static let eventTypesListed = 32

    public func recent() async throws -> [WebhookDelivery] {
        try await storage.rows("list webhook deliveries", """
            SELECT event_id, url, event_type, stream_id, status, attempts, http_status, error, updated_at
            FROM webhook_deliveries ORDER BY recorded DESC LIMIT \(capacity * Self.eventTypesListed)
            """) { row in
            let (eventID, url, eventType, streamID, status, attempts, httpStatus, error, updatedAt) =
                try row.decode((String, String, String, String, String, Int32, Int32?, String?, Double).self)
            // A status this version does not know is shown as still going.
            return WebhookDelivery(eventID: eventID, eventType: eventType, streamID: streamID, url: url,
                                   status: WebhookDelivery.Status(rawValue: status) ?? .retrying, attempts: Int(attempts),
                                   httpStatus: httpStatus.map(Int.init), error: error,
                                   updatedAt: Date(timeIntervalSince1970: updatedAt))
        }
    }
}
