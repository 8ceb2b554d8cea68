import Foundation

/// A `redis-server` for one test: a free loopback port, nothing saved, stopped by `stop()`.
public final class RedisServer: @unchecked Sendable {
    public let port: Int
    private let process = Process()

    public init(port: Int? = nil) throws {
        self.port = try port ?? Loopback.freePort()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
        process.arguments = ["--port", "\(self.port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--daemonize", "no", "--loglevel", "warning"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Ready when it accepts a connection (5 s bound).
        try Loopback.waitUntilListening(process, port: self.port, name: "redis-server", seconds: 5, stop: stop)
    }

    /// SIGKILL: a SIGTERM from the test process left redis-server running (and the test
    /// waiting); nothing needs saving.
    public func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

public struct TestServerError: Error, CustomStringConvertible {
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}
