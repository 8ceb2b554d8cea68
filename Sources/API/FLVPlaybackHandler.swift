import Fanout
import NIOCore

/// The pipeline's last handler once a connection plays HTTP-FLV: it ignores what the client
/// sends and tells the viewer when the socket drains or closes.
final class FLVPlaybackHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let fanout: StreamFanout
    private var viewer: Viewer?

    init(fanout: StreamFanout) {
        self.fanout = fanout
    }

    func attach(channel: any Channel) {
        viewer = fanout.attach(channel: channel, format: .flv) {
            channel.close(promise: nil)
        }
        if viewer == nil { channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        viewer?.writabilityChanged(isWritable: context.channel.isWritable)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let viewer { fanout.detach(viewer) }
        viewer = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
