import Logging
import PostgresNIO

/// One step of the PostgreSQL schema. Versions only grow; a released step is never edited.
struct PostgresMigration: Sendable {
    var version: Int
    var name: String
    var statements: [String]
}

/// The cluster's schema, migrated forward at startup. Each step runs in its own transaction
/// holding `pg_advisory_xact_lock`, and is recorded in `schema_migrations`; nodes starting
/// together take turns, and the later ones find the step done.
enum PostgresSchema {
    /// The advisory lock every migration holds ("sluice schema").
    static let lockKey: Int64 = 0x736C_7569_6365_0001

    static let migrations: [PostgresMigration] = [
        PostgresMigration(version: 1, name: "channels", statements: [
            """
            CREATE TABLE channels (
                id text PRIMARY KEY,
                sequence bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
                name text NOT NULL,
                revision bigint NOT NULL,
                document text NOT NULL,
                push_secret text NOT NULL)
            """,
            """
            CREATE TABLE watermark_images (
                channel_id text PRIMARY KEY REFERENCES channels (id) ON DELETE CASCADE,
                content_type text NOT NULL,
                bytes bytea NOT NULL)
            """,
        ]),
        PostgresMigration(version: 2, name: "api keys and console sessions", statements: [
            """
            CREATE TABLE api_keys (
                id text PRIMARY KEY,
                name text NOT NULL,
                scope text NOT NULL,
                hash text NOT NULL UNIQUE,
                created_at double precision NOT NULL)
            """,
            """
            CREATE TABLE console_sessions (
                token_hash text PRIMARY KEY,
                key_id text NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
                csrf_token text NOT NULL,
                expires_at double precision NOT NULL)
            """,
        ]),
        PostgresMigration(version: 3, name: "settings", statements: [
            "CREATE TABLE settings (key text PRIMARY KEY, value text NOT NULL)",
        ]),
        PostgresMigration(version: 4, name: "assets", statements: [
            """
            CREATE TABLE assets (
                position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                id text NOT NULL UNIQUE,
                kind text NOT NULL,
                channel_id text NOT NULL,
                stream_id text NOT NULL,
                session_id bigint NOT NULL,
                starts_at double precision NOT NULL,
                duration double precision NOT NULL,
                size bigint NOT NULL,
                location text NOT NULL,
                content_type text NOT NULL,
                created_at double precision NOT NULL)
            """,
            "CREATE INDEX assets_channel ON assets (channel_id, starts_at)",
            "CREATE INDEX assets_stream_kind ON assets (stream_id, kind, starts_at)",
            "CREATE INDEX assets_channel_created ON assets (channel_id, created_at)",
        ]),
        PostgresMigration(version: 5, name: "webhook deliveries", statements: [
            "CREATE SEQUENCE webhook_delivery_order",
            """
            CREATE TABLE webhook_deliveries (
                event_id text NOT NULL,
                url text NOT NULL,
                event_type text NOT NULL,
                stream_id text NOT NULL,
                status text NOT NULL,
                attempts integer NOT NULL,
                http_status integer,
                error text,
                updated_at double precision NOT NULL,
                recorded bigint NOT NULL,
                PRIMARY KEY (event_id, url))
            """,
            "CREATE INDEX webhook_deliveries_recorded ON webhook_deliveries (recorded)",
        ]),
        PostgresMigration(version: 6, name: "dvr segments", statements: [
            """
            CREATE TABLE dvr_segments (
                stream_id text NOT NULL,
                rendition text NOT NULL,
                session text NOT NULL,
                sequence bigint NOT NULL,
                dash_number bigint NOT NULL,
                program_date bigint NOT NULL,
                record text NOT NULL,
                PRIMARY KEY (stream_id, rendition, session, sequence))
            """,
            "CREATE INDEX dvr_segments_date ON dvr_segments (stream_id, rendition, program_date)",
            "CREATE INDEX dvr_segments_removal ON dvr_segments (stream_id, program_date)",
            "CREATE INDEX dvr_segments_dash ON dvr_segments (stream_id, rendition, session, dash_number)",
        ]),
    ]

    /// Applies every step `storage`'s database lacks, oldest first.
    static func migrate(_ storage: PostgresStorage, migrations: [PostgresMigration] = migrations) async throws {
        try await storage.transaction("schema_migrations") { connection in
            try await lock(connection, logger: storage.logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now())
                """, logger: storage.logger)
        }
        for migration in migrations {
            let applied = try await storage.transaction("migration \(migration.version)") { connection in
                try await apply(migration, on: connection, logger: storage.logger)
            }
            if applied {
                storage.logger.info("database migrated", metadata: ["version": "\(migration.version)", "step": "\(migration.name)"])
            }
        }
    }

    /// Runs one step unless it is recorded; true when it ran.
    private static func apply(_ migration: PostgresMigration, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        try await lock(connection, logger: logger)
        let done = try await connection.query("SELECT 1 FROM schema_migrations WHERE version = \(migration.version)",
                                              logger: logger).collect()
        guard done.isEmpty else { return false }
        for statement in migration.statements {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
        try await connection.query("INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                                   logger: logger)
        return true
    }

    private static func lock(_ connection: PostgresConnection, logger: Logger) async throws {
        _ = try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger).collect()
    }
}

extension PostgresStorage {
    /// The schema versions applied to the database, oldest first.
    public func schemaVersions() async throws -> [Int] {
        try await rows("schema_migrations", "SELECT version FROM schema_migrations ORDER BY version") { row in
            Int(try row.decode(Int32.self))
        }
    }
}
