import Events
import Foundation
import Media
import NIOCore

/// Runs ffmpeg and ffprobe for the transcoding tests, and converts between FLV files and the
/// media frames the workers consume and produce.
enum MediaFixtures {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs a tool to completion (at most `timeout` seconds); its standard output.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String], timeout: TimeInterval = 120) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let outputFile = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-tool-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outputFile) }
        let output = try FileHandle(forWritingTo: outputFile)
        defer { try? output.close() }
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            process.terminate()
            throw Failure(description: "\(tool) did not finish in \(timeout) s")
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errors.fileHandleForReading.availableData, as: UTF8.self)
            throw Failure(description: "\(tool) exited \(process.terminationStatus): \(message.suffix(800))")
        }
        return try Data(contentsOf: outputFile)
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-workers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// An FLV made by ffmpeg from `input` arguments (lavfi sources), H.264 + AAC.
    /// - Parameter audioCodec: ffmpeg's encoder for the audio (`aac`, `libmp3lame`).
    static func makeFLV(at url: URL, input: [String], seconds: Double, gop: Int = 30, audio: Bool = true,
                        audioCodec: String = "aac") throws {
        var arguments = ["-hide_banner", "-loglevel", "error", "-y"] + input
        if audio { arguments += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"] }
        arguments += ["-t", "\(seconds)", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "\(gop)",
                      "-bf", "0"]
        if audio { arguments += ["-c:a", audioCodec, "-b:a", "96k", "-ar", "44100"] }
        arguments += ["-f", "flv", url.path]
        try run("ffmpeg", arguments)
    }

    /// The frames of an FLV file, as ingest would publish them.
    static func frames(ofFLV url: URL, sessionID: UInt64 = 7) throws -> [MediaFrame] {
        try MediaFrame.frames(ofFLVFile: ByteBuffer(bytes: try Data(contentsOf: url)), sessionID: sessionID)
    }

    /// Writes frames (one rendition's) as an FLV file.
    static func writeFLV(_ frames: [MediaFrame], to url: URL) throws {
        var file = FLV.fileHeader(hasAudio: frames.contains { $0.kind == .audio }, hasVideo: true)
        for frame in frames {
            let type: FLVTagType
            switch frame.kind {
            case .video: type = .video
            case .audio: type = .audio
            case .metadata: type = .script
            case .end: continue
            }
            FLV.writeTag(type: type, timestamp: UInt32(max(0, frame.dts)), body: frame.payload, into: &file)
        }
        try Data(file.readableBytesView).write(to: url)
    }

    /// ffprobe's codec name and packet count of a file's first audio stream.
    static func probeAudio(_ url: URL) throws -> (codec: String, packets: Int, seconds: Double) {
        let data = try run("ffprobe", ["-v", "error", "-select_streams", "a:0", "-show_entries", "stream=codec_name:packet=pts_time",
                                       "-of", "json", url.path])
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        let codec = ((json["streams"] as? [[String: Any]])?.first?["codec_name"] as? String) ?? ""
        let times = (json["packets"] as? [[String: Any]] ?? []).compactMap { ($0["pts_time"] as? String).flatMap(Double.init) }
        return (codec, times.count, (times.max() ?? 0) - (times.min() ?? 0))
    }

    /// ffprobe's JSON about a file's first video stream and its frames' key flags and times.
    static func probeVideo(_ url: URL) throws -> (width: Int, height: Int, keyframeTimes: [Double], frames: Int, bitRate: Double) {
        let data = try run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries",
                                       "stream=width,height:packet=pts_time,flags,size", "-of", "json", url.path])
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        let stream = (json["streams"] as? [[String: Any]])?.first ?? [:]
        let packets = json["packets"] as? [[String: Any]] ?? []
        let times = packets.compactMap { ($0["pts_time"] as? String).flatMap(Double.init) }
        let keyframes = packets.filter { ($0["flags"] as? String ?? "").hasPrefix("K") }
            .compactMap { ($0["pts_time"] as? String).flatMap(Double.init) }
        let bytes = packets.compactMap { ($0["size"] as? String).flatMap(Double.init) }.reduce(0, +)
        let span = (times.max() ?? 0) - (times.min() ?? 0)
        let duration = span > 0 ? span * Double(times.count) / Double(max(1, times.count - 1)) : 1
        return (stream["width"] as? Int ?? 0, stream["height"] as? Int ?? 0, keyframes, packets.count, bytes * 8 / duration)
    }

    /// One decoded picture of a file as RGB24 bytes, at `seconds`.
    static func rgbFrame(of url: URL, at seconds: Double) throws -> [UInt8] {
        [UInt8](try run("ffmpeg", ["-v", "error", "-ss", "\(seconds)", "-i", url.path, "-frames:v", "1", "-f", "rawvideo",
                                   "-pix_fmt", "rgb24", "-"]))
    }

    /// Four seconds of 640x360 testsrc2 at 30 fps with audio, a keyframe every second, as frames.
    static func fourSecondsOfFrames() throws -> [MediaFrame] {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("source.flv")
        try makeFLV(at: source, input: ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30"], seconds: 4, gop: 30)
        return try frames(ofFLV: source)
    }
}
