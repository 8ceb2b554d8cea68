import Foundation
import Logging
import NIOSSL
import PostgresNIO
import ServiceLifecycle

/// The cluster's PostgreSQL database: one `PostgresClient` (a connection pool that reconnects
/// with backoff when the server comes back), the schema migrated on open, and the one place
/// where database failures become `StateError`s.
///
/// Every call has a deadline (`deadline`, default 5 s): while the server is away a call fails
/// with `.storage` (HTTP 503 at the API) instead of waiting for the pool. The pool starts
/// connecting when the storage is made, so stores can be read before the node's
/// `ServiceGroup` runs; as a `Service` it closes the pool at graceful shutdown (list it first,
/// so it closes last).
public final class PostgresStorage: Service, Sendable {
    let client: PostgresClient
    let logger: Logger
    /// How long one call may take, waiting for a connection included.
    public let deadline: Duration
    private let running: Task<Void, Never>

    public init(location: PostgresLocation, logger: Logger, deadline: Duration = .seconds(5)) {
        let client = PostgresClient(configuration: Self.configuration(location, deadline: deadline), backgroundLogger: logger)
        self.client = client
        self.logger = logger
        self.deadline = deadline
        running = Task { await client.run() }
    }

    /// Opens and migrates (`PostgresSchema`); closes the pool again when that fails.
    public static func open(_ location: PostgresLocation, logger: Logger,
                            deadline: Duration = .seconds(5)) async throws -> PostgresStorage {
        let storage = PostgresStorage(location: location, logger: logger, deadline: deadline)
        do {
            try await PostgresSchema.migrate(storage)
        } catch {
            await storage.close()
            throw error
        }
        return storage
    }

    /// Waits for graceful shutdown, then closes the pool.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    /// Closes every connection; calls fail afterwards.
    public func close() async {
        running.cancel()
        await running.value
    }

    /// Runs `body` on one connection, within the deadline.
    func withConnection<T: Sendable>(_ what: String,
                                     _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await withinDeadline(what) { [client] in
            try await client.withConnection { connection in try await body(connection) }
        }
    }

    /// Runs `body` in one transaction (committed when it returns, rolled back when it throws),
    /// within the deadline.
    func transaction<T: Sendable>(_ what: String,
                                  _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await withinDeadline(what) { [client, logger] in
            try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        }
    }

    /// One statement's rows, within the deadline.
    func rows(_ what: String, _ query: PostgresQuery) async throws -> [PostgresRow] {
        try await rows(what, query) { $0 }
    }

    /// One statement's rows, each made a value by `transform` (whose failures are `.storage`
    /// errors: a stored value that does not decode).
    func rows<T: Sendable>(_ what: String, _ query: PostgresQuery,
                           _ transform: @escaping @Sendable (PostgresRow) throws -> T) async throws -> [T] {
        try await withConnection(what) { [logger] connection in
            try await connection.query(query, logger: logger).collect().map(transform)
        }
    }

    private func withinDeadline<T: Sendable>(_ what: String,
                                             _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let deadline = deadline
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await body() }
                group.addTask {
                    try await Task.sleep(for: deadline)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let value = first else {
                    throw StateError(.storage, "the database did not answer within \(deadline) (\(what))")
                }
                return value
            }
        } catch {
            throw Self.stateError(error, what)
        }
    }

    /// What a failure means for the caller. Server messages keep their SQLSTATE and text, never
    /// the statement or its values (secrets and hashes travel as values).
    static func stateError(_ error: any Error, _ what: String) -> StateError {
        switch error {
        case let error as StateError:
            return error
        case let error as PostgresTransactionError:
            return stateError(error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError
                              ?? StateError(.storage, "transaction failed"), what)
        case is DecodingError:
            return StateError(.storage, "\(what): a stored document does not decode")
        case let error as PSQLError:
            if let state = error.serverInfo?[.sqlState] {
                let code: StateError.Code = state == "23505" ? .conflict : .storage
                return StateError(code, "\(what): database error \(state): \(error.serverInfo?[.message] ?? "")")
            }
            return StateError(.storage, "\(what): the database is unavailable (\(error.code))")
        case let error as PostgresDecodingError:
            return StateError(.storage, "\(what): a stored value does not decode (column \(error.columnName), \(error.code))")
        default:
            return StateError(.storage, "\(what): the database is unavailable (\(error))")
        }
    }

    private static func configuration(_ location: PostgresLocation, deadline: Duration) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch location.tls {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(.makeClientConfiguration())
        case .require: tls = .require(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(host: location.host, port: location.port, username: location.user,
                                                         password: location.password, database: location.database, tls: tls)
        configuration.options.connectTimeout = deadline
        configuration.options.maximumConnections = 20
        configuration.options.keepAliveBehavior = .init(frequency: .seconds(15))
        return configuration
    }
}
