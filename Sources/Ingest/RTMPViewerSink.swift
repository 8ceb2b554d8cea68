import Fanout
import NIOCore
import RTMP

/// Connects an RTMP player to its stream's fan-out.
///
/// Confined to the connection's event loop (every `RTMPPlaySink` call arrives there);
/// `@unchecked Sendable` so the policy can hand it over from its task.
final class RTMPViewerSink: RTMPPlaySink, @unchecked Sendable {
    private let fanout: StreamFanout
    private let connection: RTMPConnection
    private var viewer: Viewer?

    init(fanout: StreamFanout, connection: RTMPConnection) {
        self.fanout = fanout
        self.connection = connection
    }

    /// The pipeline name of the read-idle timer, which players do not need: they may send
    /// nothing for hours, and every write would pass through it.
    static let idleHandlerName = "rtmp-idle"

    func start(streamID: UInt32) {
        PlaybackSocket.tune(connection.channel)
        connection.channel.pipeline.syncOperations.removeHandler(name: Self.idleHandlerName, promise: nil)
        let connection = connection
        viewer = fanout.attach(channel: connection.channel, format: .rtmp(streamID: streamID)) {
            connection.endPlayback()
        }
        if viewer == nil { connection.endPlayback() }
    }

    func writabilityChanged(isWritable: Bool) {
        viewer?.writabilityChanged(isWritable: isWritable)
    }

    func stopped() {
        if let viewer { fanout.detach(viewer) }
        viewer = nil
    }
}
