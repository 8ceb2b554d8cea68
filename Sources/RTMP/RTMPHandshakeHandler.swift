import NIOCore

/// Runs the server handshake at the head of a connection's pipeline, then hands the bytes that
/// follow to the chunk decoder and removes itself. A peer that does not finish the handshake
/// within `timeout` is disconnected.
public final class RTMPHandshakeHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private var handshake = ServerHandshake()
    private var buffered = ByteBuffer()
    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?

    /// - Parameter timeout: time allowed from connect to a complete handshake. Default 10 s.
    public init(timeout: TimeAmount = .seconds(10)) {
        self.timeout = timeout
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { armDeadline(context: context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        armDeadline(context: context)
        context.fireChannelActive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        buffered.writeBuffer(&bytes)
        do {
            if let reply = try handshake.received(&buffered) {
                context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
            }
        } catch {
            context.fireErrorCaught(error)
            context.close(promise: nil)
            return
        }
        guard handshake.state == .done else { return }
        deadline?.cancel()
        if buffered.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(buffered)) }
        buffered = ByteBuffer()
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func armDeadline(context: ChannelHandlerContext) {
        guard deadline == nil else { return }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let timeout = timeout
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            let context = loopBound.value
            context.fireErrorCaught(RTMPError(.handshakeTimeout, "no handshake within \(timeout)"))
            context.close(promise: nil)
        }
    }
}
