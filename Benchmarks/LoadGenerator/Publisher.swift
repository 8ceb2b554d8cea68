import Media
import NIOCore
import NIOPosix
import RTMP

/// Publishes an FLV file over RTMP in real time, looping, and notes when each video frame left.
final class Publisher: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let app: String
    private let streamName: String
    private let tags: [FLVReadTag]
    private let loopDuration: UInt32
    private let measurements: Measurements
    private var handshake = ClientHandshake()
    private var handshakeBuffer = ByteBuffer()
    private var decoder = ChunkDecoderDriver()
    private var encoder = ChunkEncoder()
    private var started: NIODeadline?
    private var next = 0
    private var loops: UInt32 = 0
    let ready: EventLoopPromise<Void>

    init(app: String, streamName: String, tags: [FLVReadTag], measurements: Measurements, ready: EventLoopPromise<Void>) {
        self.app = app
        self.streamName = streamName
        self.tags = tags
        self.loopDuration = (tags.last?.timestamp ?? 0) + 33
        self.measurements = measurements
        self.ready = ready
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(handshake.start()), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if !handshake.isDone {
            handshakeBuffer.writeBuffer(&bytes)
            guard let c2 = try? handshake.received(&handshakeBuffer) else { return }
            context.write(wrapOutboundOut(c2), promise: nil)
            sendCommands(context: context)
            bytes = handshakeBuffer
        }
        for message in decoder.feed(bytes) where message.type == .commandAMF0 {
            guard let command = try? RTMPCommand(message: message), command.name == "onStatus",
                  let code = command.arguments.first?["code"]?.stringValue else { continue }
            if code == "NetStream.Publish.Start" {
                startSending(context: context)
            } else {
                ready.fail(LoadError("publish refused: \(code)"))
            }
        }
    }

    private func sendCommands(context: ChannelHandlerContext) {
        send(RTMPControl.setChunkSize(4096), context: context)
        encoder.chunkSize = 4096
        send(RTMPCommand(name: "connect", transactionID: 1, object: .object([
            AMF0Property("app", .string(app)), AMF0Property("type", .string("nonprivate")),
            AMF0Property("tcUrl", .string("rtmp://127.0.0.1/\(app)")),
        ])).message(), context: context)
        send(RTMPCommand(name: "createStream", transactionID: 2).message(), context: context)
        send(RTMPCommand(name: "publish", transactionID: 3, arguments: [.string(streamName), .string("live")])
            .message(streamID: 1), context: context)
        context.flush()
    }

    private func startSending(context: ChannelHandlerContext) {
        guard started == nil else { return }
        started = .now()
        ready.succeed()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(2)) { task in
            let (publisher, context) = loopBound.value
            if !context.channel.isActive { task.cancel() } else { publisher.sendDue(context: context) }
        }
    }

    /// Sends every tag whose time has come.
    private func sendDue(context: ChannelHandlerContext) {
        guard let started else { return }
        let elapsed = UInt32((NIODeadline.now() - started).nanoseconds / 1_000_000)
        var wrote = false
        while true {
            let tag = tags[next]
            let timestamp = loops * loopDuration + tag.timestamp
            guard timestamp <= elapsed else { break }
            let chunkStream: UInt32 = tag.type == .video ? 6 : (tag.type == .audio ? 4 : 5)
            send(RTMPMessage(typeID: tag.type.rawValue, streamID: 1, timestamp: timestamp, chunkStreamID: chunkStream,
                             payload: tag.body), context: context)
            if tag.type == .video {
                measurements.sentAt[timestamp] = NIODeadline.now().uptimeNanoseconds
                measurements.lastSentTimestamp = timestamp
            }
            wrote = true
            next += 1
            if next == tags.count {
                next = 0
                loops += 1
            }
        }
        if wrote { context.flush() }
    }

    private func send(_ message: RTMPMessage, context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: message.payload.readableBytes + 32)
        encoder.encode(message, into: &buffer)
        context.write(wrapOutboundOut(buffer), promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        ready.fail(error)
        context.close(promise: nil)
    }
}

/// The real chunk decoder, driven by hand (the publisher reads little and wants whole messages).
struct ChunkDecoderDriver {
    private var decoder = ChunkDecoder()
    private var buffer = ByteBuffer()

    mutating func feed(_ bytes: ByteBuffer) -> [RTMPMessage] {
        var bytes = bytes
        buffer.writeBuffer(&bytes)
        let output = (try? decoder.decodeAvailable(&buffer)) ?? []
        return output.compactMap { output in
            if case .message(let message) = output { return message }
            return nil
        }
    }
}

struct LoadError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
