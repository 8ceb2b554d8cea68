import Foundation
import GRDB

/// The single-machine database: one SQLite file in the data directory holding channels and API
/// keys, migrated forward on open. GRDB's queue serializes writes.
public final class SQLiteDatabase: Sendable {
    let queue: DatabaseQueue

    /// Opens, creating and migrating as needed; `nil` keeps the database in memory (tests).
    public init(path: String?) throws {
        do {
            // Nodes of a local cluster may share the file: a writer waits for another's lock.
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            queue = try path.map { try DatabaseQueue(path: $0, configuration: configuration) } ?? DatabaseQueue()
            try Self.migrator.migrate(queue)
        } catch {
            throw StateError(.storage, "cannot open database: \(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: channels") { db in
            try db.create(table: "channel") { table in
                table.primaryKey("id", .text)
                table.column("sequence", .integer).notNull().unique()
                table.column("name", .text).notNull()
                table.column("revision", .integer).notNull()
                table.column("document", .text).notNull()
                table.column("pushSecret", .text).notNull()
            }
            try db.create(index: "channel_name", on: "channel", columns: ["name"])
        }
        migrator.registerMigration("v2: api keys") { db in
            try db.create(table: "apiKey") { table in
                table.primaryKey("id", .text)
                table.column("name", .text).notNull()
                table.column("scope", .text).notNull()
                table.column("hash", .text).notNull().unique()
                table.column("createdAt", .double).notNull()
            }
        }
        migrator.registerMigration("v3: settings") { db in
            try db.create(table: "setting") { table in
                table.primaryKey("key", .text)
                table.column("value", .text).notNull()
            }
        }
        migrator.registerMigration("v4: watermark images") { db in
            try db.create(table: "watermarkImage") { table in
                table.primaryKey("channelID", .text).references("channel", column: "id", onDelete: .cascade)
                table.column("contentType", .text).notNull()
                table.column("bytes", .blob).notNull()
            }
        }
        migrator.registerMigration("v5: assets") { db in
            try db.create(table: "asset") { table in
                table.column("id", .text).notNull().unique()
                table.column("kind", .text).notNull()
                table.column("channelID", .text).notNull()
                table.column("streamID", .text).notNull()
                table.column("sessionID", .integer).notNull()
                table.column("start", .double).notNull()
                table.column("duration", .double).notNull()
                table.column("size", .integer).notNull()
                table.column("location", .text).notNull()
                table.column("contentType", .text).notNull()
                table.column("createdAt", .double).notNull()
            }
            try db.create(index: "asset_channel", on: "asset", columns: ["channelID", "start"])
            try db.create(index: "asset_stream_kind", on: "asset", columns: ["streamID", "kind", "start"])
        }
        migrator.registerMigration("v6: console sessions") { db in
            try db.create(table: "consoleSession") { table in
                table.primaryKey("tokenHash", .text)
                table.column("keyID", .text).notNull().references("apiKey", column: "id", onDelete: .cascade)
                table.column("csrfToken", .text).notNull()
                table.column("expiresAt", .double).notNull()
            }
        }
        migrator.registerMigration("v7: dvr segments") { db in
            try db.create(table: "dvrSegment") { table in
                table.column("streamID", .text).notNull()
                table.column("rendition", .text).notNull()
                table.column("session", .text).notNull()
                table.column("sequence", .integer).notNull()
                table.column("dashNumber", .integer).notNull()
                table.column("programDate", .integer).notNull()
                table.column("record", .text).notNull()
                table.primaryKey(["streamID", "rendition", "session", "sequence"])
            }
            try db.create(index: "dvrSegment_date", on: "dvrSegment", columns: ["streamID", "rendition", "programDate"])
            try db.create(index: "dvrSegment_dash", on: "dvrSegment", columns: ["streamID", "rendition", "session", "dashNumber"])
        }
        migrator.registerMigration("v8: dvr segment removal") { db in
            // Removal looks across renditions: by stream and program date alone.
            try db.create(index: "dvrSegment_removal", on: "dvrSegment", columns: ["streamID", "programDate"])
        }
        return migrator
    }
}
