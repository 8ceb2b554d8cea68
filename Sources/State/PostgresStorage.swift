import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import ServiceLifecycle

/// The cluster's PostgreSQL database: one connection pool (`PostgresPool`: postgres-nio's,
/// replaced by a fresh one when the server comes back after an outage), the schema migrated on
/// open, and the one place where database failures become `StateError`s.
///
/// Every call has a deadline (`deadline`, default 5 s): while the server is away a call fails
/// with `.storage` (HTTP 503 at the API) instead of waiting for the pool; once a probe found the
/// server away (about a second into a call), calls fail at once until it answers again. The pool
/// starts connecting when the storage is made, so stores can be read before the node's
/// `ServiceGroup` runs; as a `Service` it closes the pool at graceful shutdown (list it first,
/// so it closes last).
public final class PostgresStorage: Service, Sendable {
    let pool: PostgresPool
    let logger: Logger
    /// How long one call may take, waiting for a connection included.
    public let deadline: Duration

    public init(location: PostgresLocation, logger: Logger, deadline: Duration = .seconds(5)) {
        self.logger = logger
        self.deadline = deadline
        pool = PostgresPool(configuration: Self.configuration(location, deadline: deadline),
                            probe: Self.probeConfiguration(location, deadline: deadline), deadline: deadline, logger: logger)
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
        await pool.close()
    }

    /// Runs `body` on one connection, within the deadline.
    func withConnection<T: Sendable>(_ what: String,
                                     _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await withinDeadline(what) { client in
            try await client.withConnection { connection in try await body(connection) }
        }
    }

    /// Runs `body` in one transaction (committed when it returns, rolled back when it throws),
    /// within the deadline.
    func transaction<T: Sendable>(_ what: String,
                                  _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await withinDeadline(what) { [logger] client in
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

    /// Runs `body` on the current pool until the first of: its answer, the deadline, or a probe
    /// finding the server away. A failure that may mean the server is away has it probed.
    private func withinDeadline<T: Sendable>(_ what: String,
                                             _ body: @escaping @Sendable (PostgresClient) async throws -> T) async throws -> T {
        let (deadline, pool) = (deadline, pool)
        do {
            let client = try pool.admit(what)
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await body(client) }
                group.addTask {
                    try await Task.sleep(for: deadline)
                    return nil
                }
                group.addTask {
                    try await Task.sleep(for: pool.verdictAfter)
                    pool.suspect()
                    await pool.waitUntilDown()
                    try Task.checkCancellation()
                    throw Unanswered(message: "\(what): the database is unreachable")
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let value = first else {
                    throw Unanswered(message: "the database did not answer within \(deadline) (\(what))")
                }
                return value
            }
        } catch {
            if Self.mayMeanUnreachable(error) { pool.suspect() }
            throw Self.stateError(error, what)
        }
    }

    /// A call that got no answer: the deadline passed, or a probe found the server away.
    private struct Unanswered: Error {
        var message: String
    }

    /// Whether `error` may mean the server is away (so it is probed): no answer, a connection
    /// that failed or closed, the pool's circuit breaker, or the server shutting down (SQLSTATE
    /// class 08, 57P01–57P03). Not: an answer the server gave, a value that does not decode, a
    /// call cancelled by its caller, or a call refused because the server is known to be away.
    static func mayMeanUnreachable(_ error: any Error) -> Bool {
        switch error {
        case is Unanswered: return true
        case is StateError, is DecodingError, is PostgresDecodingError, is CancellationError: return false
        case let error as PostgresTransactionError:
            guard let inner = error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError else { return false }
            return mayMeanUnreachable(inner)
        case let error as PSQLError:
            if let state = error.serverInfo?[.sqlState] { return state.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(state) }
            return error.code != .queryCancelled
        default: return true
        }
    }

    /// What a failure means for the caller. Server messages keep their SQLSTATE and text, never
    /// the statement or its values (secrets and hashes travel as values).
    static func stateError(_ error: any Error, _ what: String) -> StateError {
        switch error {
        case let error as StateError:
            return error
        case let error as Unanswered:
            return StateError(.storage, error.message)
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

    /// How `PostgresPool` probes: one connection to the same server as the pool's, with the same
    /// credentials and TLS mode; nil when TLS is required and no TLS context can be made (the
    /// pool cannot connect then either, and a probe never sends credentials in the clear).
    private static func probeConfiguration(_ location: PostgresLocation, deadline: Duration) -> PostgresConnection.Configuration? {
        let context = location.tls == .disable ? nil : try? NIOSSLContext(configuration: .makeClientConfiguration())
        let tls: PostgresConnection.Configuration.TLS
        switch (location.tls, context) {
        case (.require, let context?): tls = .require(context)
        case (.require, nil): return nil
        case (.prefer, let context?): tls = .prefer(context)
        case (.prefer, nil), (.disable, _): tls = .disable
        }
        var configuration = PostgresConnection.Configuration(host: location.host, port: location.port, username: location.user,
                                                             password: location.password, database: location.database, tls: tls)
        configuration.options.connectTimeout = .seconds(max(1, deadline.components.seconds))
        return configuration
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
