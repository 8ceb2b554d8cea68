/// Where the server settings live (SQLite on one machine, PostgreSQL in a cluster), with a copy
/// in memory for the hot path.
public protocol ServerSettingsStore: Sendable {
    /// The settings as last read or saved by this node.
    var current: ServerSettings { get }
    /// Reads what another node may have saved.
    func reload() async throws
    /// Stores `settings`; `current` is them afterwards.
    func save(_ settings: ServerSettings) async throws
}
