import Events
import NIOConcurrencyHelpers
import NIOCore
import RTMP

/// One player of one stream: its connection, its backlog and its position in the stream.
///
/// Every method runs on `channel.eventLoop`; the class is `@unchecked Sendable` only so it can
/// be handed to that loop, and it asserts where it is called.
public final class Viewer: @unchecked Sendable {
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

    public let channel: any Channel
    public let format: Format
    private let flusher: LoopFlusher
    private let onEnd: @Sendable () -> Void
    private var queue: ViewerQueue
    /// Frames up to this fan-out sequence came with the join snapshot.
    private var skipThrough: UInt64 = 0
    /// Written to since the loop's flusher last flushed it (it is in the flusher's batch).
    private var isDirty = false
    private var isDetached = false
    private(set) var isClosed = false
    private let counters: ViewerCounters

    init(channel: any Channel, format: Format, queueLimits: ViewerQueue.Limits, flusher: LoopFlusher,
         counters: ViewerCounters, onEnd: @escaping @Sendable () -> Void) {
        self.channel = channel
        self.format = format
        self.flusher = flusher
        self.counters = counters
        self.onEnd = onEnd
        self.queue = ViewerQueue(limits: queueLimits)
    }

    /// Writes raw bytes ahead of any frame (the FLV file header).
    func writeRaw(_ bytes: ByteBuffer) {
        channel.eventLoop.assertInEventLoop()
        channel.write(bytes, promise: nil)
        markDirty()
    }

    /// Starts the viewer with what a joiner needs (`StreamFanout.attach`); frames up to
    /// `through` came with it and are passed over when the loop delivers them again.
    func start(with snapshot: [PreparedFrame], through: UInt64) {
        for frame in snapshot { deliver(frame) }
        skipThrough = through
    }

    /// Marks the viewer gone from its fan-out; false if it was already.
    func detach() -> Bool {
        guard !isDetached else { return false }
        isDetached = true
        isClosed = true
        return true
    }

    /// Asks the loop's flusher for a flush, once per window.
    private func markDirty() {
        guard !isDirty else { return }
        isDirty = true
        flusher.flushSoon(self)
    }

    /// The flusher's pass: what was written goes out.
    func flush() {
        isDirty = false
        channel.flush()
    }

    func deliver(_ frame: PreparedFrame) {
        channel.eventLoop.assertInEventLoop()
        guard !isClosed, frame.sequence > skipThrough else { return }
        if queue.canBypass(frame), channel.isWritable {
            write(frame)
            queue.passed(frame)
        } else {
            let before = (queue.droppedGOPs, queue.droppedFrames)
            queue.push(frame)
            counters.recordDrops(gops: queue.droppedGOPs - before.0, frames: queue.droppedFrames - before.1)
        }
        markDirty()
    }

    /// The connection can take more: write the backlog until it cannot.
    public func writabilityChanged(isWritable: Bool) {
        channel.eventLoop.assertInEventLoop()
        guard isWritable, !isClosed else { return }
        while channel.isWritable, let frame = queue.pop() { write(frame) }
        markDirty()
    }

    /// The stream ended: flush what was written and let the protocol say goodbye.
    func streamEnded() {
        channel.eventLoop.assertInEventLoop()
        guard !isClosed else { return }
        isClosed = true
        channel.flush()
        onEnd()
    }

    private func write(_ frame: PreparedFrame) {
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
