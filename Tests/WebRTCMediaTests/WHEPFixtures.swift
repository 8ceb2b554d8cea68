import Events
import Foundation
import Media
import NIOCore

/// Streams made by ffmpeg at test time for the WHEP tests, read back as the media frames ingest
/// would publish.
enum WHEPFixtures {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// An FLV of `seconds` of ffmpeg's `testsrc2` (320×240, 25 fps, H.264, a keyframe every
    /// `gop` frames, `bFrames` B-frames) and a 440 Hz `sine` (AAC at `sampleRate`), as frames.
    static func frames(seconds: Double = 2, gop: Int = 25, bFrames: Int = 0, sampleRate: Int = 44_100,
                       video: Bool = true, sessionID: UInt64 = 1) throws -> [MediaFrame] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-whep-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("x.flv")
        var arguments = ["-hide_banner", "-loglevel", "error", "-y"]
        if video { arguments += ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25"] }
        arguments += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=\(sampleRate)"]
        if video {
            arguments += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-bf", "\(bFrames)", "-g", "\(gop)"]
            if bFrames > 0 { arguments += ["-profile:v", "main"] }
        }
        arguments += ["-c:a", "aac", "-ar", "\(sampleRate)", "-t", "\(seconds)", "-f", "flv", file.path]
        try run("ffmpeg", arguments)
        let bytes = try Data(contentsOf: file)
        // ffmpeg ends the file with an AVC end-of-sequence tag flagged as a keyframe; a live
        // stream has none, and a fan-out would cache it as a GOP of its own.
        return try MediaFrame.frames(ofFLVFile: ByteBuffer(bytes: bytes), sessionID: sessionID).filter { frame in
            frame.kind != .video || frame.isSequenceHeader || (try? VideoTagInfo(body: frame.payload))?.isCodedFrame == true
        }
    }

    /// Runs a tool to completion, at most `timeout` seconds.
    static func run(_ tool: String, _ arguments: [String], timeout: TimeInterval = 60) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
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
    }
}
