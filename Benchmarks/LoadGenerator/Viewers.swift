import Media
import NIOCore
import NIOPosix
import RTMP

/// The protocol a viewer plays.
enum PlayProtocol: String {
    case httpFLV = "flv"
    case rtmp
}

/// One viewer connection: asks for the stream, skims what arrives, records it.
final class ViewerHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let playProtocol: PlayProtocol
    private let app: String
    private let streamName: String
    private let record: ViewerRecord
    private let measurements: Measurements
    private var flv = FLVSkimmer()
    private var chunks = RTMPChunkSkimmer()
    private var handshake = ClientHandshake()
    private var handshakeBuffer = ByteBuffer()

    init(playProtocol: PlayProtocol, app: String, streamName: String, record: ViewerRecord, measurements: Measurements) {
        self.playProtocol = playProtocol
        self.app = app
        self.streamName = streamName
        self.record = record
        self.measurements = measurements
    }

    func channelActive(context: ChannelHandlerContext) {
        switch playProtocol {
        case .httpFLV:
            let request = "GET /\(streamName)/live.flv HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: sluice-loadgen\r\n\r\n"
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: request)), promise: nil)
        case .rtmp:
            context.writeAndFlush(wrapOutboundOut(handshake.start()), promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        let now = NIODeadline.now().uptimeNanoseconds
        let record = record
        let measurements = measurements
        switch playProtocol {
        case .httpFLV:
            flv.feed(bytes) { record.video($0, now: now, measurements: measurements) }
        case .rtmp:
            if !handshake.isDone {
                handshakeBuffer.writeBuffer(&bytes)
                guard let c2 = try? handshake.received(&handshakeBuffer) else { return }
                context.write(wrapOutboundOut(c2), promise: nil)
                requestPlay(context: context)
                bytes = handshakeBuffer
            }
            chunks.feed(bytes) { record.video($0, now: now, measurements: measurements) }
        }
    }

    /// connect, createStream and play, pipelined: servers handle them in order.
    private func requestPlay(context: ChannelHandlerContext) {
        var encoder = ChunkEncoder()
        var buffer = ByteBuffer()
        encoder.encode(RTMPCommand(name: "connect", transactionID: 1, object: .object([
            AMF0Property("app", .string(app)), AMF0Property("tcUrl", .string("rtmp://127.0.0.1/\(app)")),
        ])).message(), into: &buffer)
        encoder.encode(RTMPCommand(name: "createStream", transactionID: 2).message(), into: &buffer)
        encoder.encode(RTMPCommand(name: "play", transactionID: 3, arguments: [.string(streamName)]).message(streamID: 1),
                       into: &buffer)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        record.closed = true
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        record.closed = true
        context.close(promise: nil)
    }
}
