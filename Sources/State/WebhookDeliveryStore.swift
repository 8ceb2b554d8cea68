/// Where webhook deliveries are recorded for the console: in memory on one machine
/// (`WebhookDeliveryLog`), in PostgreSQL in a cluster, so every API node lists the deliveries
/// every worker made. One entry per event and receiver, updated as its attempts go.
public protocol WebhookDeliveryStore: Sendable {
    /// Records (or updates) the delivery of an event to a receiver; it becomes the newest.
    func record(_ delivery: WebhookDelivery) async throws
    /// The most recent deliveries, newest first.
    func recent() async throws -> [WebhookDelivery]
}
