import Events
import NIOConcurrencyHelpers
import NIOCore
import RTMP

/// One player of one stream: its connection (or sink), its backlog and its position in the stream.
///
/// Every method runs on `eventLoop`; the class is `@unchecked Sendable` only so it can be
/// handed to that loop, and it asserts where it is called.
public final class Viewer: @unchecked Sendable {  // confined to its event loop, as said above
    public enum Format: Sendable, Hashable {
        /// HTTP-FLV: raw FLV tags after the FLV header.
        case flv
        /// RTMP play on message stream `streamID`.
        case rtmp(streamID: UInt32)

        /// `flv` or `rtmp`, as metrics and the API name them.
        public var protocolName: String {
            switch self {
            case .flv: return "flv"
            case .rtmp: return "rtmp"
            }
        }
    }

    /// Where the viewer's frames go.
    enum Output {
        /// A NIO channel written in `format`.
        case channel(any Channel, Format)
        /// A player that takes frames as values.
        case sink(any FanoutSink)
    }

    public let eventLoop: any EventLoop
    /// `flv`, `rtmp` or the sink's name, as metrics and the API count players.
    public let protocolName: String
    let output: Output
    private let onEnd: @Sendable () -> Void
    private var queue: ViewerQueue
    /// Frames up to this fan-out sequence came with the join snapshot.
    private var skipThrough: UInt64 = 0
    private var isDetached = false
    private(set) var isClosed = false
    private let counters: ViewerCounters

    init(output: Output, eventLoop: any EventLoop, queueLimits: ViewerQueue.Limits,
         counters: ViewerCounters, onEnd: @escaping @Sendable () -> Void) {
        self.output = output
        self.eventLoop = eventLoop
        switch output {
        case .channel(_, let format): protocolName = format.protocolName
        case .sink(let sink): protocolName = sink.protocolName
        }
        self.counters = counters
        self.onEnd = onEnd
        self.queue = ViewerQueue(limits: queueLimits)
    }

    /// Bounds the backlog (a joiner's leave room for the snapshot it was given).
    func limitQueue(_ limits: ViewerQueue.Limits) {
        queue = ViewerQueue(limits: limits)
    }

    /// Starts the viewer with what a joiner needs (`StreamFanout.attach`), written and flushed at
    /// once rather than at the end of a window; frames up to `through` came with it and are
    /// passed over when the loop delivers them again. `header` goes first (the FLV file header).
    func start(header: ByteBuffer?, snapshot: [PreparedFrame], through: UInt64) {
        eventLoop.assertInEventLoop()
        if case .channel(let channel, _) = output, let header { channel.write(header, promise: nil) }
        for frame in snapshot { deliver(frame) }
        skipThrough = through
        flush()
        drain()
    }

    /// Marks the viewer gone from its fan-out; false if it was already.
    func detach() -> Bool {
        guard !isDetached else { return false }
        isDetached = true
        isClosed = true
        return true
    }

    /// A window's frames. A viewer in step with the stream (nothing queued, the socket taking
    /// more) writes the window's shared bytes in one write; any other goes frame by frame.
    func deliver(_ batch: WindowBatch) {
        eventLoop.assertInEventLoop()
        guard !isClosed else { return }
        switch output {
        case .sink(let sink):
            for frame in batch.frames where frame.sequence > skipThrough { sink.deliver(frame) }
        case .channel(let channel, let format):
            if queue.isEmpty, !queue.waitingForRandomAccess, channel.isWritable,
               let bytes = batch.bytes(for: format, after: skipThrough) {
                if bytes.readableBytes > 0 { channel.writeAndFlush(bytes, promise: nil) }
                return
            }
            for frame in batch.frames { deliver(frame) }
            channel.flush()
            drain()
        }
    }

    /// One frame, written now or queued behind the backlog (not flushed).
    private func deliver(_ frame: PreparedFrame) {
        guard !isClosed, frame.sequence > skipThrough else { return }
        guard case .channel(let channel, _) = output else {
            if case .sink(let sink) = output { sink.deliver(frame) }
            return
        }
        if queue.canBypass(frame), channel.isWritable {
            write(frame)
            queue.passed(frame)
        } else {
            let before = (queue.droppedGOPs, queue.droppedFrames)
            queue.push(frame)
            counters.recordDrops(gops: queue.droppedGOPs - before.0, frames: queue.droppedFrames - before.1)
        }
    }

    /// The connection can take more: write the backlog until it cannot.
    public func writabilityChanged(isWritable: Bool) {
        eventLoop.assertInEventLoop()
        guard isWritable, !isClosed else { return }
        drain()
    }

    /// Writes the backlog while the connection takes it. A flush can make the channel writable
    /// again before it returns — before the protocol handler knows this viewer, when it joins —
    /// so this looks again after each flush rather than wait for an event that already passed.
    private func drain() {
        guard case .channel(let channel, _) = output else { return }
        while !queue.isEmpty, channel.isWritable {
            while channel.isWritable, let frame = queue.pop() { write(frame) }
            channel.flush()
        }
    }

    /// The stream ended: flush what was written and let the protocol say goodbye.
    func streamEnded() {
        eventLoop.assertInEventLoop()
        guard !isClosed else { return }
        isClosed = true
        switch output {
        case .channel(let channel, _): channel.flush()
        case .sink(let sink): sink.streamEnded()
        }
        onEnd()
    }

    private func flush() {
        if case .channel(let channel, _) = output { channel.flush() }
    }

    private func write(_ frame: PreparedFrame) {
        guard case .channel(let channel, let format) = output else { return }
        switch format {
        case .flv:
            channel.write(frame.flvTag, promise: nil)
        case .rtmp(let streamID) where streamID == RTMPDefaults.firstStreamID:
            channel.write(frame.rtmpChunks, promise: nil)
        case .rtmp(let streamID):
            channel.write(PreparedFrame.chunks(frame.source, streamID: streamID), promise: nil)
        }
    }
}
