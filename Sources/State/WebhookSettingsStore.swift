import Events

/// Where the global webhook list and its signing secret live (SQLite on one machine,
/// PostgreSQL in a cluster), with a copy in memory for the worker. The secret is made once and
/// shared by every node.
public protocol WebhookSettingsStore: Sendable {
    /// The settings as last read or saved by this node.
    var current: WebhookSettings { get }
    /// Reads what another node may have saved.
    func reload() async throws
    /// Replaces the global list; the secret stays.
    func setWebhooks(_ webhooks: [Webhook]) async throws
}
