import Events
import Logging
import ServiceLifecycle
import State

/// Writes to session state what a node joining a stream mid-session needs (see
/// `SessionStore.playbackStart`): each session's headers as they change, and where each
/// keyframe landed once the bus acknowledged it. Writes are queued and made one at a time, in
/// order, so an older keyframe never overwrites a newer one; callers never wait.
public final class PlaybackStartRecorder: Service, Sendable {
    private enum Write {
        case headers(StreamID, session: UInt64, [MediaFrame])
        case keyframe(StreamID, session: UInt64, offset: Int64)
    }

    private let sessions: any SessionStore
    private let writes: AsyncStream<Write>
    private let queue: AsyncStream<Write>.Continuation
    private let logger: Logger

    public init(sessions: any SessionStore, logger: Logger) {
        self.sessions = sessions
        self.logger = logger
        // Bounded: with session state unreachable, the oldest writes give way (newer ones say more).
        (writes, queue) = AsyncStream.makeStream(of: Write.self, bufferingPolicy: .bufferingNewest(10_000))
    }

    /// The bus acknowledged a keyframe of `stream` at `offset`.
    public func keyframe(_ stream: String, session: UInt64, offset: Int64) {
        guard let id = StreamID(stream) else { return }
        queue.yield(.keyframe(id, session: session, offset: offset))
    }

    func headers(_ stream: StreamID, session: UInt64, _ headers: [MediaFrame]) {
        queue.yield(.headers(stream, session: session, headers))
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            for await write in self.writes {
                do {
                    switch write {
                    case .headers(let stream, let session, let headers):
                        try await self.sessions.recordHeaders(stream, sessionID: session, headers: headers)
                    case .keyframe(let stream, let session, let offset):
                        try await self.sessions.recordKeyframe(stream, sessionID: session, offset: offset)
                    }
                } catch {
                    self.logger.warning("playback start not recorded; session state unavailable", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
