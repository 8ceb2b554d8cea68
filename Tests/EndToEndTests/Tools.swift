import Foundation
import NIOConcurrencyHelpers

/// A finished run of an external program.
struct ToolResult {
    var status: Int32
    var output: String
    var errors: String
}

/// An external program running in the background; `wait` collects its result.
final class RunningTool: @unchecked Sendable {
    let process = Process()
    private let collected = NIOLockedValueBox((out: Data(), err: Data()))
    private let output = Pipe()
    private let errors = Pipe()

    init(_ program: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: program.hasPrefix("/") ? program : "/usr/bin/env")
        process.arguments = program.hasPrefix("/") ? arguments : [program] + arguments
        process.standardOutput = output
        process.standardError = errors
        let collected = collected
        output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            collected.withLockedValue { $0.out += data }
        }
        errors.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            collected.withLockedValue { $0.err += data }
        }
        try process.runWithStopSignalsUnblocked()
    }

    /// Stops the program if `wait` was never called, and its pipes' handlers with it (a handler
    /// left on a closed pipe keeps libdispatch watching a descriptor that may be reused).
    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        output.fileHandleForReading.readabilityHandler = nil
        errors.fileHandleForReading.readabilityHandler = nil
    }

    /// What the program printed to standard output so far.
    var outputSoFar: String {
        String(decoding: collected.withLockedValue { $0.out }, as: UTF8.self)
    }

    /// Waits for the program to end, killing it after `timeout` seconds.
    func wait(timeout: TimeInterval = 60) -> ToolResult {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { process.terminate() }
        let killDeadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < killDeadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        output.fileHandleForReading.readabilityHandler = nil
        errors.fileHandleForReading.readabilityHandler = nil
        let rest = (output.fileHandleForReading.readDataToEndOfFile(), errors.fileHandleForReading.readDataToEndOfFile())
        let (out, err) = collected.withLockedValue { ($0.out + rest.0, $0.err + rest.1) }
        return ToolResult(status: process.terminationStatus, output: String(decoding: out, as: UTF8.self),
                          errors: String(decoding: err, as: UTF8.self))
    }
}

extension Process {
    /// Runs the program with SIGTERM and SIGINT unblocked. A child inherits the signal mask of
    /// the thread that starts it, and the test runner's threads block both: `terminate()` never
    /// reached an ffmpeg, which published to the end of its stream while the test waited (or
    /// until the SIGKILL 5 s later).
    func runWithStopSignalsUnblocked() throws {
        var stops = sigset_t()
        sigemptyset(&stops)
        sigaddset(&stops, SIGTERM)
        sigaddset(&stops, SIGINT)
        var previous = sigset_t()
        pthread_sigmask(SIG_UNBLOCK, &stops, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        try run()
    }
}

/// ffmpeg and ffprobe, run as real publishers and players.
enum Tools {
    /// Runs a program to completion, killing it after `timeout` seconds.
    static func run(_ program: String, _ arguments: [String], timeout: TimeInterval = 60) throws -> ToolResult {
        try RunningTool(program, arguments).wait(timeout: timeout)
    }

    /// Starts publishing a generated H.264/AAC stream in real time.
    /// - Parameters:
    ///   - source: the lavfi video source (`testsrc2`, `color=black`, …).
    static func publish(to url: String, seconds: Int, size: String = "640x360", videoBitrate: String = "1200k",
                        rate: Int = 30, source: String = "testsrc2") throws -> RunningTool {
        let separator = source.contains("=") ? ":" : "="
        return try RunningTool("ffmpeg", ["-hide_banner", "-loglevel", "error", "-re",
                                   "-f", "lavfi", "-i", "\(source)\(separator)size=\(size):rate=\(rate)",
                                   "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
                                   "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "\(rate)",
                                   "-b:v", videoBitrate, "-c:a", "aac", "-b:a", "96k", "-t", "\(seconds)",
                                   "-f", "flv", url])
    }

    /// Starts ffprobe playing `url` to its end.
    static func startProbe(_ url: String) throws -> RunningTool {
        try RunningTool("ffprobe", ["-hide_banner", "-v", "error", "-show_streams", "-show_packets",
                                    "-show_entries", "stream=codec_name,codec_type,width,height:packet=codec_type,pts_time",
                                    "-of", "json", url])
    }

    /// What a player saw of a stream: its streams and the time its packets span.
    struct Probe: Decodable {
        struct Stream: Decodable {
            var codec_name: String?
            var codec_type: String?
            var width: Int?
            var height: Int?
        }
        struct Packet: Decodable {
            var codec_type: String?
            var pts_time: String?
        }
        var streams: [Stream]
        var packets: [Packet]

        var video: Stream? { streams.first { $0.codec_type == "video" } }
        var audio: Stream? { streams.first { $0.codec_type == "audio" } }

        /// Seconds between the first and last video packet.
        var videoSeconds: Double {
            let times = packets.filter { $0.codec_type == "video" }.compactMap { $0.pts_time.flatMap(Double.init) }
            guard let first = times.min(), let last = times.max() else { return 0 }
            return last - first
        }
    }

    /// What ffprobe reported, or why it failed.
    static func probeResult(_ tool: RunningTool, timeout: TimeInterval = 60) throws -> Probe {
        let result = tool.wait(timeout: timeout)
        guard result.status == 0 else { throw E2EError("ffprobe failed (\(result.status)): \(result.errors)") }
        return try JSONDecoder().decode(Probe.self, from: Data(result.output.utf8))
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago (for servers that cannot bind port 0).
    static func freePort() throws -> Int {
        let found = try run("python3", ["-c", "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"])
        guard let port = Int(found.output.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw E2EError("no free port: \(found.errors)")
        }
        return port
    }

    /// A GET with curl: status, body as text, and seconds it took.
    static func get(_ url: String, timeout: Int = 10) throws -> (status: Int, body: String, seconds: Double) {
        let marker = "\n--sluice-status--"
        let output = try run("curl", ["-s", "--max-time", "\(timeout)", "-w", "\(marker)%{http_code} %{time_total}", url],
                             timeout: TimeInterval(timeout + 5)).output
        let split = output.components(separatedBy: marker)
        let fields = (split.last ?? "").split(separator: " ")
        return (Int(fields.first ?? "") ?? 0, split.dropLast().joined(separator: marker), Double(fields.last ?? "") ?? 0)
    }

    /// The status code of a GET, with curl.
    static func httpStatus(_ url: String) throws -> Int {
        Int(try run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", url], timeout: 10).output) ?? 0
    }

    /// Waits (bounded) until `url` answers 200: the stream went live.
    static func waitUntilLive(_ url: String, seconds: Double = 15) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-I", "--max-time", "2", url],
                       timeout: 5).output == "200" { return }
            usleep(100_000)
        }
        throw E2EError("\(url) did not go live within \(seconds) s")
    }
}
