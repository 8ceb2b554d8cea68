import Logging
import NIOCore

/// Carries out an `RTMPServerSession`'s actions on one connection: encodes and writes what it
/// sends, asks the delegate for decisions off the event loop, and passes media to the sink the
/// delegate returned. Sits after `RTMPHandshakeHandler` and the `ChunkDecoder`.
public final class RTMPServerHandler: ChannelInboundHandler {
    public typealias InboundIn = ChunkDecoderOutput
    public typealias OutboundOut = ByteBuffer

    private var session: RTMPServerSession
    private var encoder = ChunkEncoder()
    private let delegate: any RTMPServerDelegate
    private var logger: Logger
    private var connection: RTMPConnection?
    private var publishSink: (any RTMPPublishSink)?
    private var playSink: (any RTMPPlaySink)?
    private var pendingPlaySink: (any RTMPPlaySink)?

    public init(configuration: RTMPServerSession.Configuration, delegate: any RTMPServerDelegate, logger: Logger) {
        self.session = RTMPServerSession(configuration: configuration)
        self.delegate = delegate
        self.logger = logger
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        let remote = context.channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "unknown"
        connection = RTMPConnection(channel: context.channel, remoteAddress: remote)
        logger[metadataKey: "peer"] = "\(remote)"
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .acknowledge(let sequence):
            write(RTMPControl.acknowledgement(sequence), context: context)
            context.flush()
        case .message(let message):
            do {
                perform(try session.received(message), context: context)
            } catch {
                fail(error, context: context)
            }
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        perform(session.connectionClosed(), context: context)
        context.fireChannelInactive()
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        playSink?.writabilityChanged(isWritable: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error, context: context)
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case RTMPConnectionEvent.stop(let description):
            perform(session.stop(description: description), context: context)
        case RTMPConnectionEvent.playbackEnded:
            perform(session.playbackEnded(), context: context)
        case IdleStateHandler.IdleStateEvent.read:
            // Players may legitimately send nothing; anyone else silent this long is gone.
            if case .playing = session.phase { return }
            logger.info("closing idle connection")
            perform(session.connectionClosed(), context: context)
            context.close(promise: nil)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    // MARK: Actions

    private func perform(_ actions: [RTMPServerAction], context: ChannelHandlerContext) {
        guard !actions.isEmpty else { return }
        var wrote = false
        for action in actions {
            switch action {
            case .send(let message):
                write(message, context: context)
                wrote = true
            case .setOutboundChunkSize(let size):
                encoder.chunkSize = size
            case .requestPublish(let request):
                askPublish(request, context: context)
            case .requestPlay(let request):
                askPlay(request, context: context)
            case .startPlayback(let streamID):
                if wrote { context.flush() }
                wrote = false
                playSink = pendingPlaySink
                pendingPlaySink = nil
                playSink?.start(streamID: streamID)
            case .media(let message):
                publishSink?.received(message)
            case .publishEnded(let reason):
                publishSink?.ended(reason)
                publishSink = nil
            case .playEnded:
                playSink?.stopped()
                playSink = nil
            case .close(let reason):
                logger.debug("closing connection", metadata: ["reason": "\(reason)"])
                // Close once the statuses queued before this action are on the wire.
                let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
                context.writeAndFlush(wrapOutboundOut(ByteBuffer())).whenComplete { _ in
                    loopBound.value.close(promise: nil)
                }
                wrote = false
            }
        }
        if wrote { context.flush() }
    }

    private func write(_ message: RTMPMessage, context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: message.payload.readableBytes + 16)
        encoder.encode(message, into: &buffer)
        context.write(wrapOutboundOut(buffer), promise: nil)
    }

    private func askPublish(_ request: StreamRequest, context: ChannelHandlerContext) {
        guard let connection else { return }
        let delegate = delegate
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        Task {
            let answer = await delegate.authorizePublish(request, connection: connection)
            loopBound.eventLoop.execute {
                let (handler, context) = loopBound.value
                handler.publishAnswered(answer, context: context)
            }
        }
    }

    private func publishAnswered(_ answer: RTMPPublishAnswer, context: ChannelHandlerContext) {
        switch answer {
        case .accept(let sink):
            guard context.channel.isActive else {
                sink.ended(.disconnected)
                return
            }
            publishSink = sink
            perform(session.decided(.accept), context: context)
        case .reject(let code, let description):
            logger.info("publish refused", metadata: ["code": "\(code)"])
            perform(session.decided(.reject(code: code, description: description)), context: context)
        }
    }

    private func askPlay(_ request: StreamRequest, context: ChannelHandlerContext) {
        guard let connection else { return }
        let delegate = delegate
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        Task {
            let answer = await delegate.authorizePlay(request, connection: connection)
            loopBound.eventLoop.execute {
                let (handler, context) = loopBound.value
                handler.playAnswered(answer, context: context)
            }
        }
    }

    private func playAnswered(_ answer: RTMPPlayAnswer, context: ChannelHandlerContext) {
        switch answer {
        case .accept(let sink):
            guard context.channel.isActive else {
                sink.stopped()
                return
            }
            pendingPlaySink = sink
            perform(session.decided(.accept), context: context)
        case .reject(let code, let description):
            perform(session.decided(.reject(code: code, description: description)), context: context)
        }
    }

    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        logger.notice("closing connection after error", metadata: ["error": "\(error)"])
        if let publishSink {
            publishSink.ended(.protocolError)
            self.publishSink = nil
        }
        _ = session.connectionClosed()
        playSink?.stopped()
        playSink = nil
        context.close(promise: nil)
    }
}
