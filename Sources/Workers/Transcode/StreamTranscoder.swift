import Events
import Foundation
import Logging
import NIOConcurrencyHelpers

/// One live stream's transcoding on a thread of its own (`transcode.{id}`, an
/// `OwnerThread`: FFmpeg blocks, so it never runs on an event loop, the cooperative pool or
/// Dispatch's shared workers). Frames queue up in order; when the encoders fall more
/// than `maxBacklog` frames behind, video is dropped up to the next keyframe so the renditions
/// stay live instead of drifting further behind.
final class StreamTranscoder: @unchecked Sendable {
    // @unchecked: `transcoder`, `arrivals` and `published` are only touched by jobs on `owner`; `backlog` and
    // `stopped` are locked.
    private let owner: OwnerThread
    private let transcoder: LadderTranscoder
    /// When each source picture in flight arrived, by sequence number.
    private var arrivals: [UInt64: ContinuousClock.Instant] = [:]
    /// `submit` counts up on the router's task, `owner` counts down; so a lock.
    private let backlog = NIOLockedValueBox(Backlog())
    /// Set by `stop()`: nothing more is transcoded or published.
    /// Locked: set from the worker's task, read on `owner`.
    private let stopped = NIOLockedValueBox(false)
    /// Whether a rendition picture went out yet (its time is logged: when a stream's renditions
    /// start, after a failover too). Only touched on `owner`.
    private var published = false
    private let publish: @Sendable ([MediaFrame]) -> Void
    private let latency: TranscodeLatency
    private let logger: Logger
    let streamID: StreamID
    let sessionID: UInt64

    private struct Backlog {
        var pending = 0
        var droppingToKeyframe = false
        var dropped = 0
    }

    static let maxBacklog = 120

    /// Video frames dropped so far because the encoders fell behind.
    var droppedFrames: Int { backlog.withLockedValue { $0.dropped } }

    init(streamID: StreamID, sessionID: UInt64, settings: TranscodeSettings, latency: TranscodeLatency, logger: Logger,
         publish: @escaping @Sendable ([MediaFrame]) -> Void) throws {
        self.streamID = streamID
        self.sessionID = sessionID
        transcoder = try LadderTranscoder(settings: settings, sessionID: sessionID)
        if let problem = transcoder.imageProblem { logger.error("\(problem)", metadata: ["stream": "\(streamID)"]) }
        owner = OwnerThread(name: "transcode.\(streamID)")
        self.latency = latency
        self.logger = logger
        self.publish = publish
    }

    func submit(_ frame: MediaFrame) {
        let accepted = backlog.withLockedValue { backlog -> Bool in
            if frame.kind == .video, !frame.isSequenceHeader {
                if backlog.pending > Self.maxBacklog { backlog.droppingToKeyframe = true }
                if backlog.droppingToKeyframe {
                    guard frame.isKeyframe else {
                        backlog.dropped += 1
                        return false
                    }
                    backlog.droppingToKeyframe = false
                }
            }
            backlog.pending += 1
            return true
        }
        guard accepted else { return }
        let queued = ContinuousClock.now
        let taken = owner.submit { [self] in
            defer { backlog.withLockedValue { $0.pending -= 1 } }
            guard !isStopped else { return }
            do {
                if frame.kind == .video, !frame.isSequenceHeader { arrivals[frame.sequence] = queued }
                let outputs = try transcoder.push(frame)
                // Stopped meanwhile: the stream is someone else's, its frames are theirs to make.
                if !outputs.isEmpty, !isStopped {
                    if !published { logFirst(outputs) }
                    publish(outputs)
                }
                measure(outputs)
            } catch {
                logger.warning("frame not transcoded", metadata: ["stream": "\(streamID)", "error": "\(error)"])
            }
        }
        // Refused once stopped or finished: nothing more is transcoded then anyway.
        if !taken { backlog.withLockedValue { $0.pending -= 1 } }
    }

    private func logFirst(_ outputs: [MediaFrame]) {
        guard let picture = outputs.first(where: { $0.kind == .video && !$0.isSequenceHeader }) else { return }
        published = true
        logger.info("first rendition frames out", metadata: ["stream": "\(streamID)", "rendition": "\(picture.rendition)",
                                                              "sequence": "\(picture.sequence)"])
    }

    /// Latency of each source picture: from its arrival until the last rendition of the ladder
    /// (every rendition is encoded in turn) produced it. Runs on `owner`.
    private func measure(_ outputs: [MediaFrame]) {
        guard let last = transcoder.renditions.last?.name else { return }
        let now = ContinuousClock.now
        for output in outputs where output.kind == .video && !output.isSequenceHeader && output.rendition == last {
            if let arrival = arrivals.removeValue(forKey: output.sequence) { latency.record(now - arrival) }
        }
        // Pictures the decoder dropped never come out: forget them after a while.
        if arrivals.count > 512, let newest = arrivals.keys.max() {
            arrivals = arrivals.filter { $0.key + 512 > newest }
        }
    }

    private var isStopped: Bool { stopped.withLockedValue { $0 } }

    /// New settings from the next submitted frame on (a source keyframe: the caller's choice),
    /// in order with the frames queued before it (`LadderTranscoder.reconfigure`).
    func reconfigure(_ settings: TranscodeSettings) {
        _ = owner.submit { [self] in
            guard !isStopped else { return }
            let drained = transcoder.reconfigure(settings)
            if let problem = transcoder.imageProblem { logger.error("\(problem)", metadata: ["stream": "\(streamID)"]) }
            if !drained.isEmpty, !isStopped { publish(drained) }
            logger.info("transcoding reconfigured", metadata: [
                "stream": "\(streamID)", "renditions": "\(settings.renditions.map(\.rawValue))",
                "watermarked_copy": "\(settings.watermarkedCopy)", "watermark": "\(!settings.watermark.isEmpty)",
            ])
        }
    }

    /// Stops at once, ending nothing: frames still queued are dropped and nothing more is
    /// published. For a stream this worker no longer owns (its partition went to another member,
    /// or this worker is going away while the stream goes on): renditions are ended only by the
    /// publisher's end, or another worker would find them ended under it.
    func stop() {
        stopped.withLockedValue { $0 = true }
        // Frames still queued see `stopped` and are skipped; then the thread ends.
        owner.stop()
        let dropped = backlog.withLockedValue { $0.dropped }
        logger.info("transcoding handed over", metadata: ["stream": "\(streamID)", "dropped": "\(dropped)"])
    }

    /// Drains what is in flight and ends every rendition; returns when done, and the thread ends.
    func finish(at dts: Int64, sequence: UInt64) async {
        _ = try? await owner.run { [self] in
            if !isStopped { publish(transcoder.finish(endingAt: dts, sequence: sequence)) }
            let dropped = backlog.withLockedValue { $0.dropped }
            if dropped > 0 {
                logger.warning("transcoding fell behind; video dropped to the next keyframe",
                               metadata: ["stream": "\(streamID)", "frames": "\(dropped)"])
            }
        }
        owner.stop()
    }
}

/// Time from a source picture's arrival to its last rendition's departure, over the recent
/// pictures of every stream.
public final class TranscodeLatency: Sendable {
    /// Recorded on every stream's transcoding thread, read by metrics; a lock, as a plain thread cannot await.
    private let samples = NIOLockedValueBox([Double]())
    private let capacity = 2048

    public init() {}

    func record(_ duration: Duration) {
        let milliseconds = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        samples.withLockedValue { samples in
            if samples.count >= capacity { samples.removeFirst(samples.count - capacity + 1) }
            samples.append(milliseconds)
        }
    }

    /// The `fraction` quantile (0…1) of recent latencies, milliseconds; nil before any frame.
    public func quantile(_ fraction: Double) -> Double? {
        let sorted = samples.withLockedValue { $0 }.sorted()
        guard !sorted.isEmpty else { return nil }
        return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * fraction))]
    }
}
