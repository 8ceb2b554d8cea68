import Events
import Fanout
import Foundation
import Logging
import NIOCore
import NIOPosix

/// The measured side: the hub, the listener its viewers come through, the windows.
struct Serve {
    let viewers: Int
    let windows: Int
    let framesPerWindow: Int
    let format: Viewer.Format
    let flvPath: String
    /// Listen here (0 picks a port); with `--drain external` the caller starts the drain
    /// (valgrind's file descriptors keep the bench from spawning it under callgrind).
    let port: Int
    let spawnsDrain: Bool
    let stream = StreamID("bench")!

    init(_ arguments: Arguments) {
        viewers = max(1, arguments.int("--viewers", default: 1000))
        windows = max(0, arguments.int("--windows", default: 50))
        framesPerWindow = max(1, arguments.int("--frames-per-window", default: 4))
        format = arguments.string("--format", default: "flv") == "rtmp" ? .rtmp(streamID: 1) : .flv
        flvPath = arguments.string("--flv", default: "Benchmarks/results/bench-1500k.flv")
        port = arguments.int("--port", default: 0)
        spawnsDrain = arguments.string("--drain", default: "spawn") == "spawn"
    }

    func run() throws {
        let frames = try StreamFrames.load(flvPath)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let hub = FanoutHub(bus: EmbeddedEventBus(), flushPolicy: Self.immediate, logger: Logger(label: "bench"))
        // The stream up to its second keyframe: headers and a GOP for the cache.
        let start = (frames.indices.dropFirst().first { frames[$0].isKeyframe && frames[$0].kind == .video && !frames[$0].isConfiguration }) ?? 0
        try loop.submit { for frame in frames[..<start] { hub.handle(frame, of: stream) } }.wait()
        let fanout = try hub.fanout(for: stream).unwrapOrThrow("no fan-out after the stream's first frames")
        let attached = loop.makePromise(of: Void.self)
        let server = try listen(on: group, fanout: fanout, attached: attached)
        let drain = spawnsDrain ? try Drain.spawn(port: server.localAddress?.port ?? 0, viewers: viewers) : nil
        try attached.futureResult.wait()
        Thread.sleep(forTimeInterval: 1)  // the joiners' snapshots drain
        var next = start
        for _ in 0..<windows {
            let window = (0..<framesPerWindow).map { frames[(next + $0) % frames.count] }
            next += framesPerWindow
            try loop.submit { for frame in window { hub.handle(frame, of: stream) } }.wait()
            try loop.submit {}.wait()  // the delivery task the window scheduled has run
        }
        print("viewers \(viewers) windows \(windows) frames/window \(framesPerWindow) format \(format.protocolName) delivered \(viewers * windows * framesPerWindow)")
        try server.close().wait()
        drain?.terminate()
        drain?.waitUntilExit()
        try group.syncShutdownGracefully()
    }

    private func listen(on group: MultiThreadedEventLoopGroup, fanout: StreamFanout,
                        attached: EventLoopPromise<Void>) throws -> any Channel {
        let count = AttachCount(target: viewers, done: attached)
        let format = format
        return try ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    PlaybackSocket.tune(channel)
                    _ = fanout.attach(channel: channel, format: format) {}
                    count.add()
                }
            }
            .bind(host: "127.0.0.1", port: port).wait()
    }
}

/// Viewers attached so far; touched only on the one event loop.
final class AttachCount: @unchecked Sendable {  // confined to the bench's single event loop
    private var count = 0
    private let target: Int
    private let done: EventLoopPromise<Void>

    init(target: Int, done: EventLoopPromise<Void>) {
        self.target = target
        self.done = done
    }

    func add() {
        count += 1
        if count == target { done.succeed() }
    }
}

extension Optional {
    func unwrapOrThrow(_ message: String) throws -> Wrapped {
        guard let self else { throw BenchError(message: message) }
        return self
    }
}

struct BenchError: Error {
    var message: String
}
