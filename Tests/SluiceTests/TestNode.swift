import Events
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
@testable import Sluice

/// What a `ReadyAnnouncer` prints, collected instead of written to stdout.
final class PrintedLines: Sendable {
    // Locked: listeners' bind callbacks print from their event loops while a test reads.
    private let texts = Mutex<[String]>([])

    func append(_ text: String) { texts.withLock { $0.append(text) } }
    var all: [String] { texts.withLock { $0 } }
}

/// Stands in for PostgreSQL's connection pool, the service a `--database` node's stores bring.
struct DatabaseStandIn: Service {
    func run() async throws {}
}

/// A node of any role made without a socket: the composition's own `NodeCore.assemble` over
/// SQLite in a fresh folder and the embedded bus. Cluster flags only name Kafka, Redis and
/// PostgreSQL (nothing connects until a service runs); a `--database` node gets `DatabaseStandIn`
/// where the pool would be.
struct TestNode {
    static let clusterFlags = ["--kafka", "kafka.invalid:9092", "--redis", "redis://redis.invalid:6379",
                               "--database", "postgres://sluice@db.invalid:5432/sluice"]

    let core: NodeCore
    let printed: PrintedLines

    static func settings(_ roles: Set<Role>, _ arguments: [String], folder: URL) throws -> ServeSettings {
        let options = try NodeOptions.parse(arguments + ["--data-dir", folder.path, "--event-loops", "1",
                                                         "--watermark-font", #filePath])
        return try ServeSettings(options: options, roles: roles, environment: [:])
    }

    /// A fresh, empty data dir for one test.
    static func folder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-node-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// Runs `body` on a node doing `roles` with `arguments`, then closes its bus, loops and folder.
    static func with(_ roles: Set<Role>, _ arguments: [String] = [], demo: Bool = false,
                     _ body: (TestNode) async throws -> Void) async throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let settings = try settings(roles, arguments, folder: folder)
        var stores = try await MetadataStores.sqlite(in: folder)
        if settings.database != nil { stores.service = DatabaseStandIn() }
        let printed = PrintedLines()
        let announcer = ReadyAnnouncer(settings: settings, demo: demo ? try await Node.demoChannel(stores.channels) : nil,
                                       emit: { printed.append($0) })
        let bus = EmbeddedEventBus()
        let core = NodeCore.assemble(settings, stores: stores, announcer: announcer, bus: bus,
                                     acknowledgements: bus.acknowledgedStarts, logger: Logger(label: "test"))
        var failure: (any Error)?
        do {
            try await body(TestNode(core: core, printed: printed))
        } catch {
            failure = error
        }
        await core.bus.shutdown()
        try await core.group.shutdownGracefully()
        if let failure { throw failure }
    }

    /// The type names of a list of services, in order.
    static func names(_ services: [ServiceGroupConfiguration.ServiceConfiguration]) -> [String] {
        services.map { String(describing: type(of: $0.service)) }
    }
}
