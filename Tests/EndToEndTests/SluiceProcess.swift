import Access
import Foundation
import State
import NIOConcurrencyHelpers
import Testing

/// A `sluice serve` (or cluster node: `ingest`, `api`, `worker`) process on loopback with ports
/// picked by the kernel, stopped with SIGTERM.
final class SluiceProcess: @unchecked Sendable {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let binary = ProcessInfo.processInfo.environment["SLUICE_BINARY"]
        ?? packageRoot.appendingPathComponent(".build/debug/sluice").path

    let secret: String
    let dataDirectory: String
    let process = Process()
    private(set) var ports: [String: Int] = [:]
    private let output = Pipe()
    private let errors = Pipe()
    private let log = NIOLockedValueBox(String())

    /// - Parameters:
    ///   - dataDirectory: reuse a data directory (to test restarts); a fresh one by default.
    ///   - environment: extra environment, e.g. `SLUICE_ADMIN_KEY`.
    ///   - command: `serve`, or a cluster node's command.
    ///   - secret: the `--push-secret` (nodes of one cluster share it).
    init(command: String = "serve", extraArguments: [String] = [], dataDirectory: String? = nil,
         environment: [String: String] = [:], secret: String = "e2e-" + UUID().uuidString) throws {
        self.dataDirectory = dataDirectory ?? NSTemporaryDirectory() + "sluice-e2e-" + UUID().uuidString
        self.secret = secret
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = [command, "--host", "127.0.0.1", "--rtmp-port", "0", "--http-port", "0", "--status-port", "0",
                             "--srt-port", "0", "--webrtc-port", "0",
                             "--push-secret", secret, "--data-dir", self.dataDirectory,
                             // Hooks, webhook receivers and relay targets of these tests listen on loopback.
                             "--allow-destination", "127.0.0.0/8", "--allow-destination", "::1/128"] + extraArguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = output
        process.standardError = errors
        let log = log
        errors.fileHandleForReading.readabilityHandler = { handle in
            let text = String(decoding: handle.availableData, as: UTF8.self)
            log.withLockedValue { $0 += text }
        }
        try process.run()
        let tls = extraArguments.contains("--tls-cert")
        let webrtc = extraArguments.contains("--no-webrtc") ? 0 : 1
        switch command {
        case "ingest": try readPorts(expecting: tls ? 4 : 3)  // RTMP(S), SRT and the status port
        case "api": try readPorts(expecting: 1 + webrtc)  // HTTP and WebRTC
        case "worker": try readPorts(expecting: 1)  // the status port
        default: try readPorts(expecting: (tls ? 4 : 3) + webrtc)  // RTMP(S), SRT, HTTP and WebRTC
        }
    }

    /// Reads `sluice: NAME listening on HOST:PORT` lines until every listener reported (10 s bound).
    private func readPorts(expecting count: Int) throws {
        let deadline = Date().addingTimeInterval(10)
        var pending = ""
        while ports.count < count {
            guard Date() < deadline, process.isRunning else {
                throw E2EError("sluice did not report its ports; log:\n\(serverLog)")
            }
            let data = output.fileHandleForReading.availableData
            pending += String(decoding: data, as: UTF8.self)
            for line in pending.split(separator: "\n") where line.hasPrefix("sluice: ") && line.contains(" listening on ") {
                let parts = line.split(separator: " ")
                if let port = parts.last?.split(separator: ":").last.flatMap({ Int($0) }) { ports[String(parts[1])] = port }
            }
        }
    }

    /// Waits (10 s bound) until the log says `text`.
    private func waitForLog(_ text: String) throws {
        let deadline = Date().addingTimeInterval(10)
        while !serverLog.contains(text) {
            guard Date() < deadline, process.isRunning else { throw E2EError("sluice did not log '\(text)'; log:\n\(serverLog)") }
            usleep(20_000)
        }
    }

    var rtmpPort: Int { ports["rtmp"]! }
    /// The SRT listener's UDP port (serve and ingest nodes).
    var srtPort: Int { ports["srt"]! }
    var httpPort: Int { ports["http"]! }
    /// The WebRTC transport's UDP port (serve and api nodes).
    var webrtcPort: Int { ports["webrtc"]! }
    /// `/healthz`, `/readyz` and `/metrics` of ingest and worker nodes.
    var statusPort: Int { ports["status"]! }
    var serverLog: String { log.withLockedValue { $0 } }

    func pushURL(_ stream: String, expires: Date = Date().addingTimeInterval(3600), scheme: String = "rtmp",
                 port: Int? = nil) -> String {
        let sign = PushSignature(secret: secret).sign(path: "/stream/\(stream)", expires: Int64(expires.timeIntervalSince1970))
        return "\(scheme)://127.0.0.1:\(port ?? rtmpPort)/stream/\(stream)?sign=\(sign)"
    }

    func flvURL(_ stream: String) -> String { "http://127.0.0.1:\(httpPort)/\(stream)/live.flv" }
    func rtmpPlayURL(_ stream: String) -> String { "rtmp://127.0.0.1:\(rtmpPort)/stream/\(stream)" }

    /// Resident memory of the server, from /proc.
    var residentKilobytes: Int {
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// SIGTERM, then wait up to 10 s for a clean exit.
    @discardableResult
    func stop() -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        stop()
        // A handler left on a pipe that closes keeps libdispatch watching a closed descriptor,
        // and the number is soon reused (librdkafka opens and closes many in this process). The
        // test process once crashed in libdispatch's event loop, which is what that looks like.
        errors.fileHandleForReading.readabilityHandler = nil
    }
}

struct E2EError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
