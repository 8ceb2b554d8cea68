import Foundation

/// ffmpeg or ffprobe run by a test, its output going to a temporary file.
final class FFmpeg: @unchecked Sendable {
    // @unchecked: `process` is started once in init and only read (isRunning, terminate) after
    let process = Process()
    private let log: URL

    private init(_ executable: String, _ arguments: [String]) throws {
        log = FileManager.default.temporaryDirectory.appendingPathComponent("srt-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: log)
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: log)
    }

    /// ffmpeg sending `seconds` of a 320x240 H.264 test pattern as MPEG-TS to `url`, in real time.
    static func publish(url: String, seconds: Int) throws -> FFmpeg {
        try FFmpeg("/usr/bin/ffmpeg", ["-hide_banner", "-nostats", "-loglevel", "info", "-re",
                                      "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "\(seconds)",
                                      "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25",
                                      "-f", "mpegts", url])
    }

    /// ffprobe reading `url` (`-show_streams` as JSON) until it has found the streams.
    static func probe(url: String) throws -> FFmpeg {
        try FFmpeg("/usr/bin/ffprobe", ["-hide_banner", "-loglevel", "error", "-show_streams", "-of", "json", url])
    }

    /// Waits until the program exits, killing it after `seconds`; returns what it printed.
    func waitForExit(seconds: Double) -> String {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        stop()
        process.waitUntilExit()
        return output
    }

    var exitStatus: Int32 { process.isRunning ? -1 : process.terminationStatus }

    var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// Ends the program at once (SIGKILL: no SRT shutdown message reaches the peer).
    func kill() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
    }

    func stop() {
        if process.isRunning { process.terminate() }
    }
}
