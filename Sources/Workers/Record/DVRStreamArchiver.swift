import Events
import Foundation
import Logging
import Packager
import State

/// One publish session's DVR archive (of one rendition). Frames are packaged on the router's
/// loop as they come; finished segments are stored, listed and pruned by a task of the
/// session's own, in order, so a slow store holds up this stream's archive and not every
/// stream's frames. At most `pendingLimit` batches wait for the store; past that, new segments
/// are dropped (logged: a gap in the archive) rather than held in memory.
final class DVRStreamArchiver: SessionHandler, @unchecked Sendable {
    // @unchecked: `recorder` is touched only by the router's loop, one call at a time; the writer task has its own state.
    private var recorder: DVRRecorder
    private let streamID: StreamID
    /// The archive's rendition: "" for what plays at the stream's own URLs.
    let rendition: String
    private let logger: Logger
    private let writes: AsyncStream<DVRSegmentWriter.Batch>.Continuation
    /// Stores what `writes` carries; its value is how many segments it kept.
    private let writer: Task<Int, Never>

    /// Where the session's archive resumes when this worker did not see it begin: the offset of
    /// the first frame of the segment the previous worker had not stored (`SessionRouter` reads
    /// the log again from there); nil: from the first segment start read.
    let resumeOffset: Int64?
    /// The offset of each recent segment's first frame (the one stamped as its start), by number.
    private var segmentStarts: [Int: Int64] = [:]

    /// Batches of finished segments that may wait for the store.
    static let pendingLimit = 16
    /// The recorder kind the DVR archive's progress is noted under.
    static let progressKind = "dvr"

    /// - Parameter progress: where each stream's archive stands in the log (a cluster), noted
    ///   after each stored segment; `resuming`: what another worker noted for this session.
    init(streamID: StreamID, rendition: String = "", sessionID: UInt64, settings: DVRWorker.Settings, archive: DVRArchive,
         grace: TimeInterval = DVRArchive.grace, progress: (any RecordingProgressStore)? = nil, resuming: RecordingProgress? = nil,
         logger: Logger) {
        resumeOffset = resuming?.offset
        self.streamID = streamID
        self.rendition = rendition
        self.logger = logger
        recorder = DVRRecorder(configuration: settings.packaging)
        _ = recorder.begin(sessionID: sessionID)
        let (batches, writes) = AsyncStream.makeStream(of: DVRSegmentWriter.Batch.self, bufferingPolicy: .bufferingOldest(Self.pendingLimit))
        self.writes = writes
        let store = DVRSegmentWriter(streamID: streamID, rendition: rendition, sessionID: sessionID, window: settings.windowSeconds + grace,
                                     archive: archive, progress: progress, logger: logger)
        writer = Task { await store.write(batches) }
    }

    func offer(_ frame: MediaFrame) async {
        await take(frame, offset: nil)
    }

    func offer(_ frame: MediaFrame, at offset: Int64) async {
        await take(frame, offset: offset)
    }

    private func take(_ frame: MediaFrame, offset: Int64?) async {
        if let offset, frame.startsSegment, !frame.isConfiguration, let number = frame.timeline.map({ Int($0.segment) }),
           segmentStarts[number] == nil {
            segmentStarts[number] = offset
            if segmentStarts.count > 8, let oldest = segmentStarts.keys.min() { segmentStarts[oldest] = nil }
        }
        do {
            send(try recorder.append(frame, arrival: Date()))
        } catch {
            logger.warning("frame not packaged for the DVR archive", metadata: ["stream": "\(streamID)", "error": "\(error)"])
        }
    }

    /// The session ended: its last segment is closed with what it has, as the edge closes it,
    /// and everything is stored before this returns.
    func finish() async {
        send(recorder.finish())
        writes.finish()
        let kept = await writer.value
        logger.info("DVR archive of session done", metadata: ["stream": "\(streamID)", "rendition": "\(rendition)", "segments": "\(kept)"])
    }

    /// The stream goes on at another worker: what is finished is stored; the segment being
    /// filled is left to it (closing it here would archive a shorter segment under the name the
    /// edge serves whole).
    func handOver() async {
        writes.finish()
        _ = await writer.value
    }

    private func send(_ finished: [DVRRecorder.Finished]) {
        guard let last = finished.last?.segment.sequence else { return }
        // Once these are stored, a worker taking over goes on from the next segment's first frame.
        let next = segmentStarts[last + 1].map { (sequence: last + 1, offset: $0) }
        if case .dropped = writes.yield(DVRSegmentWriter.Batch(segments: finished, next: next)) {
            logger.error("DVR segments dropped: the asset store is behind", metadata: [
                "stream": "\(streamID)", "rendition": "\(rendition)", "segments": "\(finished.map(\.segment.sequence))"])
        }
    }
}

/// Stores one session's finished segments in order, each listed once its files are stored,
/// and after each batch removes what is older than the newest less `window` (seconds).
struct DVRSegmentWriter: Sendable {
    /// Segments to store, and where in the log the segment after them starts (if known).
    struct Batch: Sendable {
        var segments: [DVRRecorder.Finished]
        var next: (sequence: Int, offset: Int64)?
    }

    let streamID: StreamID
    let rendition: String
    let sessionID: UInt64
    let window: TimeInterval
    let archive: DVRArchive
    let progress: (any RecordingProgressStore)?
    let logger: Logger

    /// Writes until `batches` ends; returns how many segments were kept.
    func write(_ batches: AsyncStream<Batch>) async -> Int {
        var kept = 0
        for await batch in batches {
            guard let newest = batch.segments.last?.segment.programDate else { continue }
            var stored = true
            for finished in batch.segments {
                do {
                    try await archive.keep(finished, of: streamID, rendition: rendition)
                    kept += 1
                } catch {
                    stored = false
                    logger.error("DVR segment not archived", metadata: [
                        "stream": "\(streamID)", "segment": "\(finished.segment.sequence)", "error": "\(error)"])
                }
            }
            if stored, let next = batch.next { await note(next) }
            do {
                try await archive.remove(of: streamID, before: newest.addingTimeInterval(-window))
            } catch {
                logger.error("DVR segments not removed", metadata: ["stream": "\(streamID)", "error": "\(error)"])
            }
        }
        return kept
    }

    /// Notes that every segment before `next` is stored: a worker taking over reads from its first frame.
    private func note(_ next: (sequence: Int, offset: Int64)) async {
        guard let progress else { return }
        do {
            try await progress.note(RecordingProgress(sessionID: sessionID, offset: next.offset, asset: nil, segment: next.sequence),
                                    of: streamID, kind: DVRStreamArchiver.progressKind)
        } catch {
            logger.warning("DVR progress not noted", metadata: ["stream": "\(streamID)", "error": "\(error)"])
        }
    }
}
