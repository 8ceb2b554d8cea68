import Events
import Logging
import Media
import NIOConcurrencyHelpers
import NIOCore

/// Runs one stream's `AACToOpus` on a thread of its own (`OwnerThread`): the event loop hands it
/// the source's audio frames without waiting, and gets the Opus packets back on the loop.
///
/// When the thread falls behind by more than `maxPendingFrames` frames, new frames are dropped
/// (counted) rather than queued: late audio is no use to a real-time viewer.
final class OpusEncoderBridge: Sendable {
    /// The codec pipeline, touched only by jobs on `thread`.
    private final class Pipeline: @unchecked Sendable {  // confined to the owner thread: every access is a job on it
        var converter: AACToOpus?
        var failed = false
    }

    private let thread: OwnerThread
    private let pipeline = Pipeline()
    private let eventLoop: any EventLoop
    private let deliver: @Sendable ([OpusPacket]) -> Void
    private let logger: Logger
    private let frameMilliseconds: Int
    /// Frames handed to the thread and not done yet, and frames dropped because there were too many.
    private let counts = NIOLockedValueBox((pending: 0, dropped: 0))

    /// Frames (about 21 ms each) the thread may have queued before new ones are dropped: room
    /// for a joining source's snapshot (a cached GOP's audio) without dropping any.
    static let maxPendingFrames = 256

    /// - Parameters:
    ///   - name: the thread's name (`opus <stream>`).
    ///   - frameMilliseconds: audio per Opus packet (20, 40 or 60).
    ///   - deliver: called on `eventLoop` with the packets each frame completed, in order.
    init(name: String, eventLoop: any EventLoop, logger: Logger, frameMilliseconds: Int = 20,
         deliver: @escaping @Sendable ([OpusPacket]) -> Void) {
        thread = OwnerThread(name: name)
        self.eventLoop = eventLoop
        self.deliver = deliver
        self.logger = logger
        self.frameMilliseconds = frameMilliseconds
    }

    /// Source frames dropped because the codec thread was behind.
    var droppedFrames: Int { counts.withLockedValue { $0.dropped } }

    /// Starts a new pipeline for the source's audio configuration (a new AAC sequence header).
    /// - Parameter configuration: the AudioSpecificConfig; empty for MP3.
    func configure(codec: AudioCodec, configuration: [UInt8]) {
        let pipeline = self.pipeline
        let (logger, frameMilliseconds) = (self.logger, self.frameMilliseconds)
        thread.submit {
            do {
                pipeline.converter = try AACToOpus(codec: codec, configuration: configuration, frameMilliseconds: frameMilliseconds)
                pipeline.failed = false
            } catch {
                pipeline.converter = nil
                pipeline.failed = true
                logger.error("WebRTC audio: cannot encode the stream's audio to Opus", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Queues one frame of the source (its FLV audio tag body, header included) for encoding.
    func encode(tagBody: ByteBuffer, ptsMs: Int64) {
        let admitted = counts.withLockedValue { counts -> Bool in
            guard counts.pending < Self.maxPendingFrames else {
                counts.dropped += 1
                return false
            }
            counts.pending += 1
            return true
        }
        guard admitted else { return }
        let (pipeline, counts, eventLoop, deliver, logger) = (self.pipeline, self.counts, self.eventLoop, self.deliver, self.logger)
        let queued = thread.submit {
            defer { counts.withLockedValue { $0.pending -= 1 } }
            guard let converter = pipeline.converter else { return }
            var body = tagBody
            guard body.readableBytes > converter.tagHeaderSize else { return }
            body.moveReaderIndex(forwardBy: converter.tagHeaderSize)
            do {
                let packets = try body.withUnsafeReadableBytes { try converter.encode($0, ptsMs: ptsMs) }
                if !packets.isEmpty { eventLoop.execute { deliver(packets) } }
            } catch {
                // One bad frame is skipped; the decoder goes on with the next.
                logger.debug("WebRTC audio: frame not encoded", metadata: ["error": "\(error)"])
            }
        }
        if !queued { counts.withLockedValue { $0.pending -= 1 } }
    }

    /// Lets the queued frames go, frees the codecs on their thread and ends it.
    func stop() {
        let pipeline = self.pipeline
        thread.submit { pipeline.converter = nil }
        thread.stop()
    }
}
