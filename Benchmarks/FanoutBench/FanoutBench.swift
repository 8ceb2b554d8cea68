import Events
import Fanout
import Foundation
import Logging
import Media
import NIOCore
import NIOPosix

/// Counts what one delivered frame costs per viewer, for `valgrind --tool=callgrind`
/// (Benchmarks/callgrind.sh): N viewers on loopback TCP attached to a real `StreamFanout` on one
/// event loop, fed windows of K frames of a real stream. Each window is handed to the hub on the
/// loop and then delivered before the next, so every run does the same work however slowly the
/// instrumented process runs; the sockets are read by a child process (`drain`), which
/// callgrind does not follow.
///
///   FanoutBench serve --viewers N --windows W --frames-per-window K --format flv|rtmp --flv FILE
///   FanoutBench drain --port P --viewers N
@main
enum FanoutBench {
    static func main() throws {
        let arguments = Arguments(CommandLine.arguments.dropFirst())
        switch CommandLine.arguments.dropFirst().first {
        case "drain":
            try Drain.run(port: arguments.int("--port", default: 0), viewers: arguments.int("--viewers", default: 1))
        case "serve":
            try Serve(arguments).run()
        default:
            FileHandle.standardError.write(Data("usage: FanoutBench serve|drain [options]\n".utf8))
            exit(2)
        }
    }
}

/// `--name value` pairs.
struct Arguments {
    private var values: [String: String] = [:]

    init(_ words: ArraySlice<String>) {
        var words = words.dropFirst()
        while let name = words.popFirst(), let value = words.popFirst() { values[name] = value }
    }

    func int(_ name: String, default fallback: Int) -> Int { values[name].flatMap { Int($0) } ?? fallback }
    func string(_ name: String, default fallback: String) -> String { values[name] ?? fallback }
}

/// The frames of an FLV file as the bus would carry them.
enum StreamFrames {
    static func load(_ path: String) throws -> [MediaFrame] {
        var reader = FLVStreamReader()
        reader.feed(ByteBuffer(bytes: try Data(contentsOf: URL(fileURLWithPath: path))))
        var frames: [MediaFrame] = []
        while let tag = try reader.nextTag() {
            let sequence = UInt64(frames.count + 1)
            if let frame = MediaFrame(tag: tag.type, body: tag.body, dts: Int64(tag.timestamp), sessionID: 1, sequence: sequence) {
                frames.append(frame)
            }
        }
        return frames
    }
}
