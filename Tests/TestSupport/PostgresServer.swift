import Foundation

/// A PostgreSQL 15 server (Debian's) for one test: its own cluster in a temporary folder, on a
/// free loopback port, trust authentication for user `postgres`, database `postgres`.
///
/// PostgreSQL refuses to run as root, so under root (the test machines) every command runs as
/// user `postgres` through `runuser`, in a folder that user owns. `stop()` and `start()` take the
/// server away and bring it back on the same port with the same data (outage tests);
/// `shutDown()` stops it for good and removes the folder.
public final class PostgresServer: @unchecked Sendable {
    public let port: Int
    public let folder: URL
    private static let binaries = "/usr/lib/postgresql/15/bin"

    public init() throws {
        port = try Loopback.freePort()
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-pg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        do {
            try Self.handOver(folder)
            try Self.copyTemplate(to: data)
            try start()
        } catch {
            try? FileManager.default.removeItem(at: folder)
            throw error
        }
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    public var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres" }

    private var data: URL { folder.appendingPathComponent("data") }

    /// Starts the server and waits until it accepts connections (`pg_ctl -w`, 30 s bound).
    public func start() throws {
        let options = "-p \(port) -k \(folder.path) -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c shared_buffers=16MB -c max_connections=40"
        try Self.run("pg_ctl", ["-D", data.path, "-o", options, "-l", folder.appendingPathComponent("log").path,
                                "-w", "-t", "30", "start"])
    }

    /// Stops the server at once (`-m immediate`: connections are cut, as when a machine dies).
    public func stop() {
        try? Self.run("pg_ctl", ["-D", data.path, "-m", "immediate", "-w", "stop"])
    }

    /// Stops the server and removes its folder.
    public func shutDown() {
        stop()
        try? FileManager.default.removeItem(at: folder)
    }

    // MARK: Cluster template

    /// A fresh cluster for `destination`, copied from one made by `initdb` once per machine (a
    /// copy takes a fraction of initdb's seconds).
    private static func copyTemplate(to destination: URL) throws {
        let template = try self.template()
        try run("/bin/cp", ["-a", template.path, destination.path], asPostgres: true, binary: false)
    }

    /// `…/sluice-pg-template-15`, made by `initdb` into a unique folder and renamed into place, so
    /// test processes running at once never see half of one.
    private static func template() throws -> URL {
        let temporary = FileManager.default.temporaryDirectory
        let template = temporary.appendingPathComponent("sluice-pg-template-15")
        if FileManager.default.fileExists(atPath: template.appendingPathComponent("PG_VERSION").path) { return template }
        let building = temporary.appendingPathComponent("sluice-pg-template-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: building, withIntermediateDirectories: true)
        try handOver(building)
        let cluster = building.appendingPathComponent("data")
        try run("initdb", ["-D", cluster.path, "-A", "trust", "-U", "postgres", "-N", "--no-instructions"])
        if rename(cluster.path, template.path) != 0 {
            // Another process was first (the folder exists); use its template.
            guard FileManager.default.fileExists(atPath: template.appendingPathComponent("PG_VERSION").path) else {
                throw TestServerError("cannot place the PostgreSQL template at \(template.path)")
            }
        }
        try? FileManager.default.removeItem(at: building)
        return template
    }

    // MARK: Commands

    /// Gives `folder` to user `postgres` when running as root.
    private static func handOver(_ folder: URL) throws {
        guard getuid() == 0 else { return }
        try run("/bin/chown", ["postgres:postgres", folder.path], asPostgres: false, binary: false)
    }

    /// Runs a PostgreSQL program (as `postgres` under root) and waits; throws with its output
    /// when it fails. Spawned and reaped here with `posix_spawn` and `waitpid`: Foundation's
    /// `Process.waitUntilExit` was seen to wait forever for a `runuser` that had exited.
    private static func run(_ program: String, _ arguments: [String], asPostgres: Bool = true, binary: Bool = true) throws {
        let path = binary ? "\(binaries)/\(program)" : program
        let argv = asPostgres && getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--", path] + arguments : [path] + arguments
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-pg-run-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: output) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var pid = pid_t()
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArguments, environ)
        guard spawned == 0 else { throw TestServerError("\(program) did not start: errno \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exited = status & 0x7F == 0 && (status >> 8) & 0xFF == 0
        guard exited else {
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            throw TestServerError("\(program) failed (status \(status)): \(text.suffix(2000))")
        }
    }
}
