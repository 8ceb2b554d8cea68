import Fanout
import NIOCore
import NIOHTTP1

/// Responses that go on after their head: server-sent events, and HTTP-FLV, where the HTTP
/// codec leaves the pipeline and the fan-out's bytes go to the socket as they are.
extension HTTPHandler {
    /// Server-sent events: the head now, then each event as a chunk until the feed ends or the
    /// client leaves (a write fails). The connection takes no further requests (the response never
    /// ends, so `HTTPServerPipelineHandler` holds them and reads no more) and is exempt from the idle timeout.
    func startEvents(_ feed: EventFeed, headers extra: HTTPHeaders, context: ChannelHandlerContext) {
        let headers = ResponseHeaders.streaming(extra)
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                              promise: nil)
        metrics.recordRequest(route: routeLabel, status: 200, duration: .nanoseconds((NIODeadline.now() - started).nanoseconds))
        context.pipeline.syncOperations.removeHandler(name: Self.idleName, promise: nil)
        keepAlive = false
        let channel = context.channel
        let task = Task {
            while !Task.isCancelled, channel.isActive, let event = await feed.next() {
                let part = HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: event)))
                do { try await channel.writeAndFlush(part) } catch { break }
                try? await Task.sleep(for: feed.interval)
            }
            channel.close(promise: nil)
        }
        channel.closeFuture.whenComplete { _ in task.cancel() }
    }

    /// Replaces the HTTP codec with raw FLV: a response head without a length (the body ends when
    /// the connection does), written as bytes once the codec has left, then the fan-out's bytes.
    func startStream(_ fanout: StreamFanout, context: ChannelHandlerContext) {
        let channel = context.channel
        let pipeline = channel.pipeline.syncOperations
        do {
            let playback = FLVPlaybackHandler(fanout: fanout)
            try pipeline.addHandler(playback, position: .after(self))
            // This handler leaves first: whatever the HTTP handlers still hold (pipelined
            // requests, which now wait for ever) goes to the playback handler, which ignores it.
            pipeline.removeHandler(context: context, promise: nil)
            pipeline.removeHandler(context: try pipeline.context(handlerType: HTTPServerPipelineHandler.self), promise: nil)
            pipeline.removeHandler(context: try pipeline.context(handlerType: ByteToMessageHandler<HTTPRequestDecoder>.self),
                                   promise: nil)
            pipeline.removeHandler(context: try pipeline.context(handlerType: HTTPResponseEncoder.self), promise: nil)
            pipeline.removeHandler(name: Self.idleName, promise: nil)
            channel.write(Self.flvResponseHead, promise: nil)
            metrics.recordRequest(route: routeLabel, status: 200, duration: .nanoseconds((NIODeadline.now() - started).nanoseconds))
            PlaybackSocket.tune(channel)
            playback.attach(channel: channel)
        } catch {
            logger.error("could not start HTTP-FLV", metadata: ["error": "\(error)"])
            channel.close(promise: nil)
        }
    }

    static let flvResponseHead = ResponseHeaders.bytes(of: ResponseHeaders.flvHead)
}
