import Foundation
import NIOCore
import NIOPosix

/// The viewers' side, in a child process: N connections that read and discard.
enum Drain {
    static func spawn(port: Int, viewers: Int) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = ["drain", "--port", "\(port)", "--viewers", "\(viewers)"]
        try process.run()
        return process
    }

    static func run(port: Int, viewers: Int) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ClientBootstrap(group: group)
            .channelOption(.socketOption(.so_rcvbuf), value: 1 << 20)
            .channelInitializer { $0.pipeline.addHandler(Discard()) }
        var channels: [any Channel] = []
        // The server may still be starting (under valgrind, for seconds): retry for up to a minute.
        let deadline = Date().addingTimeInterval(60)
        while channels.count < viewers {
            do {
                channels.append(try bootstrap.connect(host: "127.0.0.1", port: port).wait())
            } catch where channels.isEmpty && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        // Until the server closes the connections or the bench stops this process.
        for channel in channels { try? channel.closeFuture.wait() }
    }

    final class Discard: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
    }
}
