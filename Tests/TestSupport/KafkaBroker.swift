import Foundation

/// A Tansu broker (Kafka protocol, memory storage) for one test or suite: a free loopback port,
/// stopped by `stop()`. The binary comes from ops/install-kafka.sh (`.runtime/bin/tansu`).
public final class KafkaBroker: @unchecked Sendable {
    public let port: Int
    private let process = Process()

    /// The checkout's root, found from this file.
    public static let checkout = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    public static let topicsFolder = checkout.appendingPathComponent("topics")

    public var address: String { "127.0.0.1:\(port)" }

    public init(port: Int? = nil) throws {
        self.port = try port ?? Loopback.freePort()
        let tansu = Self.checkout.appendingPathComponent(".runtime/bin/tansu")
        guard FileManager.default.isExecutableFile(atPath: tansu.path) else {
            throw TestServerError("no Tansu at \(tansu.path): run ops/install-kafka.sh")
        }
        process.executableURL = tansu
        let url = "tcp://127.0.0.1:\(self.port)"
        process.arguments = ["broker", "--listener-url", url, "--advertised-listener-url", url,
                             "--storage-engine", "memory://tansu/", "--cluster-id", "sluice-test-\(self.port)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try Loopback.waitUntilListening(process, port: self.port, name: "Tansu", seconds: 10, stop: stop)
    }

    public func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }
}
