import NIOCore

/// Carries out an `RTMPClientSession` on a connection: the client handshake, chunk decoding,
/// acknowledgements, and the session's commands. Once the server accepts the publish,
/// `published` succeeds and media written as `RTMPMessage`s goes out on the publish's message
/// stream, chunked with the connection's encoder. A refusal or a closed connection fails
/// `published` (if it has not succeeded) and `closed` carries why the connection ended.
public final class RTMPClientHandler: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundIn = RTMPMessage
    public typealias OutboundOut = ByteBuffer

    private var session: RTMPClientSession
    private var handshake = ClientHandshake()
    private var pending = ByteBuffer()
    private var decoder = ChunkDecoder()
    private var encoder = ChunkEncoder()
    private var outcome: RTMPError?
    public let published: EventLoopPromise<UInt32>
    public let closed: EventLoopPromise<RTMPError?>

    public init(target: RTMPPublishTarget, eventLoop: any EventLoop) {
        session = RTMPClientSession(target: target)
        published = eventLoop.makePromise()
        closed = eventLoop.makePromise()
    }

    public func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(handshake.start()), promise: nil)
        context.fireChannelActive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        pending.writeBuffer(&bytes)
        do {
            if !handshake.isDone {
                guard let c2 = try handshake.received(&pending) else { return }
                context.write(wrapOutboundOut(c2), promise: nil)
                carryOut(session.start(), context: context)
            }
            for output in try decoder.decodeAvailable(&pending) {
                switch output {
                case .message(let message): carryOut(session.received(message), context: context)
                case .acknowledge(let sequence): send(RTMPControl.acknowledgement(sequence), context: context)
                }
            }
            pending.discardReadBytes()
            context.flush()
        } catch let error as RTMPError {
            fail(error, context: context)
        } catch {
            fail(RTMPError(.malformedChunk, "\(error)"), context: context)
        }
    }

    /// Media from the relay: sent on the publish's message stream.
    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var message = unwrapOutboundIn(data)
        message.streamID = session.messageStreamID
        var buffer = context.channel.allocator.buffer(capacity: message.payload.readableBytes + 64)
        encoder.encode(message, into: &buffer)
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        let reason = outcome ?? RTMPError(.connectionClosed, "the server closed the connection")
        published.fail(reason)
        closed.succeed(outcome)
        context.fireChannelInactive()
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(RTMPError(.connectionClosed, "\(error)"), context: context)
    }

    private func carryOut(_ actions: [RTMPClientSession.Action], context: ChannelHandlerContext) {
        for action in actions {
            switch action {
            case .send(let message): send(message, context: context)
            case .useChunkSize(let size): encoder.chunkSize = size
            case .live(let streamID): published.succeed(streamID)
            case .refused(let code, let description): fail(RTMPError(.refused, "\(code): \(description)"), context: context)
            }
        }
    }

    private func send(_ message: RTMPMessage, context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: message.payload.readableBytes + 32)
        encoder.encode(message, into: &buffer)
        context.write(wrapOutboundOut(buffer), promise: nil)
    }

    private func fail(_ error: RTMPError, context: ChannelHandlerContext) {
        if outcome == nil { outcome = error }
        context.close(promise: nil)
    }
}
