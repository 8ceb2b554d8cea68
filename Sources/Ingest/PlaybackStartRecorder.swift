import Events
import Logging
import ServiceLifecycle
import State

/// Writes to session state what a node joining a stream mid-session needs (see
/// `SessionStore.playbackStart` and `packagingStart`): each session's headers (the source's and
/// each rendition's) as they change, and where each keyframe and segment start landed, read from
/// the bus's `acknowledgedStarts`. Writes are queued and made one at a time, in order, so an older
/// offset never overwrites a newer one; callers never wait.
public final class PlaybackStartRecorder: Service, Sendable {
    private enum Write {
        case headers(StreamID, rendition: String, session: UInt64, [MediaFrame])
        case keyframe(StreamID, session: UInt64, offset: Int64)
        case segmentStart(StreamID, rendition: String, session: UInt64, offset: Int64)
    }

    private let sessions: any SessionStore
    private let acknowledgements: AsyncStream<BusAcknowledgement>
    private let writes: AsyncStream<Write>
    private let queue: AsyncStream<Write>.Continuation
    private let logger: Logger

    /// - Parameter acknowledgements: the bus's `acknowledgedStarts` (`EmbeddedEventBus`, `KafkaEventBus`); read from
    ///   `run()` on, and by nothing else.
    public init(sessions: any SessionStore, acknowledgements: AsyncStream<BusAcknowledgement>, logger: Logger) {
        self.sessions = sessions
        self.acknowledgements = acknowledgements
        self.logger = logger
        // Bounded: with session state unreachable, the oldest writes give way (newer ones say more).
        (writes, queue) = AsyncStream.makeStream(of: Write.self, bufferingPolicy: .bufferingNewest(10_000))
    }

    /// The bus holds a keyframe or a segment start.
    func acknowledged(_ acknowledgement: BusAcknowledgement) {
        switch acknowledgement {
        case .keyframe(let stream, let session, let offset):
            guard let id = StreamID(stream) else { return }
            queue.yield(.keyframe(id, session: session, offset: offset))
        case .segmentStart(let start):
            guard let id = StreamID(start.stream) else { return }
            queue.yield(.segmentStart(id, rendition: start.rendition, session: start.session, offset: start.offset))
        }
    }

    /// A rendition's headers changed (its transcoder began, or re-initialised an encoder).
    public func headers(_ stream: StreamID, rendition: String, session: UInt64, _ headers: [MediaFrame]) {
        queue.yield(.headers(stream, rendition: rendition, session: session, headers))
    }

    func headers(_ stream: StreamID, session: UInt64, _ headers: [MediaFrame]) {
        queue.yield(.headers(stream, rendition: "", session: session, headers))
    }

    /// Reads the bus's acknowledgements into the queue, and writes the queue, until shutdown.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { tasks in
                tasks.addTask {
                    for await acknowledgement in self.acknowledgements { self.acknowledged(acknowledgement) }
                }
                await self.writeQueued()  // until shutdown cancels it
                tasks.cancelAll()
            }
        }
    }

    private func writeQueued() async {
        for await write in writes {
            do {
                try await record(write)
            } catch {
                logger.warning("playback start not recorded; session state unavailable", metadata: ["error": "\(error)"])
            }
        }
    }

    private func record(_ write: Write) async throws {
        switch write {
        case .headers(let stream, let rendition, let session, let headers):
            try await sessions.recordHeaders(stream, rendition: rendition, sessionID: session, headers: headers)
        case .keyframe(let stream, let session, let offset):
            try await sessions.recordKeyframe(stream, sessionID: session, offset: offset)
        case .segmentStart(let stream, let rendition, let session, let offset):
            try await sessions.recordSegmentStart(stream, rendition: rendition, sessionID: session, offset: offset)
        }
    }
}
