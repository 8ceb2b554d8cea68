import Events
import Foundation
import Logging
import Packager

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
    private let writes: AsyncStream<[DVRRecorder.Finished]>.Continuation
    /// Stores what `writes` carries; its value is how many segments it kept.
    private let writer: Task<Int, Never>

    /// Batches of finished segments that may wait for the store.
    static let pendingLimit = 16

    init(streamID: StreamID, rendition: String = "", sessionID: UInt64, settings: DVRWorker.Settings, archive: DVRArchive,
         grace: TimeInterval = DVRArchive.grace, logger: Logger) {
        self.streamID = streamID
        self.rendition = rendition
        self.logger = logger
        recorder = DVRRecorder(configuration: settings.packaging)
        _ = recorder.begin(sessionID: sessionID)
        let (batches, writes) = AsyncStream.makeStream(of: [DVRRecorder.Finished].self, bufferingPolicy: .bufferingOldest(Self.pendingLimit))
        self.writes = writes
        let store = DVRSegmentWriter(streamID: streamID, rendition: rendition, window: settings.windowSeconds + grace, archive: archive,
                                     logger: logger)
        writer = Task { await store.write(batches) }
    }

    func offer(_ frame: MediaFrame) async {
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
        guard !finished.isEmpty else { return }
        if case .dropped = writes.yield(finished) {
            logger.error("DVR segments dropped: the asset store is behind", metadata: [
                "stream": "\(streamID)", "rendition": "\(rendition)", "segments": "\(finished.map(\.segment.sequence))"])
        }
    }
}

/// Stores one session's finished segments in order, each listed once its files are stored,
/// and after each batch removes what is older than the newest less `window` (seconds).
struct DVRSegmentWriter: Sendable {
    let streamID: StreamID
    let rendition: String
    let window: TimeInterval
    let archive: DVRArchive
    let logger: Logger

    /// Writes until `batches` ends; returns how many segments were kept.
    func write(_ batches: AsyncStream<[DVRRecorder.Finished]>) async -> Int {
        var kept = 0
        for await batch in batches {
            guard let newest = batch.last?.segment.programDate else { continue }
            for finished in batch {
                do {
                    try await archive.keep(finished, of: streamID, rendition: rendition)
                    kept += 1
                } catch {
                    logger.error("DVR segment not archived", metadata: [
                        "stream": "\(streamID)", "segment": "\(finished.segment.sequence)", "error": "\(error)"])
                }
            }
            do {
                try await archive.remove(of: streamID, before: newest.addingTimeInterval(-window))
            } catch {
                logger.error("DVR segments not removed", metadata: ["stream": "\(streamID)", "error": "\(error)"])
            }
        }
        return kept
    }
}
