import Fanout
import Logging
import NIOCore
import SRT

/// Plays a stream to one SRT caller: the fan-out's frames, muxed into MPEG-TS for this player
/// (`SRTTransportMuxer`) and queued on its SRT connection. libsrt's send buffer is the queue;
/// when it is full the frame is dropped and so is everything up to the next keyframe, so the
/// player skips ahead instead of seeing broken pictures. The publisher never waits.
///
/// Confined to `eventLoop`: the fan-out calls `deliver` and `streamEnded` there, and `attach`
/// and `close` run there (`@unchecked Sendable` for that reason).
final class SRTViewer: FanoutSink, @unchecked Sendable {
    let eventLoop: any EventLoop
    let protocolName = "srt"
    private let connection: SRTConnection
    private let logger: Logger
    private var muxer = SRTTransportMuxer()
    /// Set after a refused send: frames are skipped until the next random-access point.
    private var skippingToKeyframe = false
    private var fanout: StreamFanout?
    private var viewer: Viewer?
    /// Frames not sent because the connection's send buffer was full, or while skipping after that.
    private(set) var droppedFrames = 0

    init(connection: SRTConnection, eventLoop: any EventLoop, logger: Logger) {
        self.connection = connection
        self.eventLoop = eventLoop
        self.logger = logger
    }

    /// Joins `fanout` (on the loop); a fan-out that has ended closes the connection.
    func attach(to fanout: StreamFanout) {
        eventLoop.preconditionInEventLoop()
        guard connection.isOpen else { return }
        self.fanout = fanout
        viewer = fanout.attach(sink: self)
        if viewer == nil { connection.close() }
    }

    /// The caller went away: leaves the fan-out.
    func detach() {
        eventLoop.preconditionInEventLoop()
        if let viewer { fanout?.detach(viewer) }
        if let fanout {
            logger.info("SRT player left", metadata: [
                "stream": "\(fanout.streamID)", "peer": "\(connection.peer)", "droppedFrames": "\(droppedFrames)",
                "unwritableFrames": "\(muxer.unwritable)",
            ])
        }
        viewer = nil
        fanout = nil
    }

    func deliver(_ frame: PreparedFrame) {
        let source = frame.source
        if skippingToKeyframe {
            guard source.isConfiguration || muxer.isRandomAccess(source) else {
                droppedFrames += 1
                return
            }
            if !source.isConfiguration { skippingToKeyframe = false }
        }
        let bytes = muxer.write(source)
        guard bytes.readableBytes > 0, !connection.send(bytes) else { return }
        guard connection.isOpen else { return }
        // A frame cut short leaves a broken PES behind: the next keyframe starts clean again.
        droppedFrames += 1
        skippingToKeyframe = true
    }

    func streamEnded() {
        viewer = nil
        fanout = nil
        connection.close()
    }
}
