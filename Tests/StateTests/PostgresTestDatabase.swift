import Foundation
import Logging
import State
import TestSupport

/// A PostgreSQL server for one test with the Sluice schema, and the storages opened on it (each
/// one a node's connection pool). `shutDown()` (or deinit) closes them and removes the server.
final class PostgresTestDatabase: @unchecked Sendable {
    let server: PostgresServer
    let location: PostgresLocation
    /// The first storage, migrated.
    let storage: PostgresStorage
    private let lock = NSLock()
    private var storages: [PostgresStorage] = []
    private var down = false

    private init(server: PostgresServer, storage: PostgresStorage) throws {
        self.server = server
        location = try PostgresLocation(url: server.url)
        self.storage = storage
        storages = [storage]
    }

    /// The storages' deadline unless a test names its own: 30 s, not a node's 5 s. The store tests
    /// run among hundreds of others on two cores, each with its own server starting, and a first
    /// migration there took longer than 5 s (clean-clone CI); a test that times an outage passes
    /// its own deadline.
    static let patientDeadline: Duration = .seconds(30)

    /// Starts a server and opens (migrates) a first storage on it.
    static func start(deadline: Duration = patientDeadline) async throws -> PostgresTestDatabase {
        let server = try PostgresServer()
        do {
            let storage = try await PostgresStorage.open(try PostgresLocation(url: server.url), logger: logger, deadline: deadline)
            return try PostgresTestDatabase(server: server, storage: storage)
        } catch {
            server.shutDown()
            throw error
        }
    }

    /// Another node's storage on the same database.
    func open(deadline: Duration = patientDeadline) async throws -> PostgresStorage {
        let storage = try await PostgresStorage.open(location, logger: Self.logger, deadline: deadline)
        lock.withLock { storages.append(storage) }
        return storage
    }

    /// Closes every storage and removes the server; later calls do nothing.
    func shutDown() async {
        let open: [PostgresStorage] = lock.withLock {
            defer { (storages, down) = ([], true) }
            return down ? [] : storages
        }
        for storage in open { await storage.close() }
        server.shutDown()
    }

    deinit {
        for storage in storages { Task { await storage.close() } }
        server.shutDown()
    }

    /// Quiet: the pool logs every failed reconnection at info, which the outage tests cause.
    static let logger: Logger = {
        var logger = Logger(label: "sluice.tests.postgres")
        logger.logLevel = .error
        return logger
    }()
}
