import Events
import Foundation
import Logging
import Media
import NIOConcurrencyHelpers
import NIOCore
import RTMP
import State

/// One accepted publish session, whatever its protocol: turns media (RTMP messages, or FLV tags
/// an SRT publisher's MPEG-TS was demuxed into) into `MediaFrame`s on the bus, keeps the publish
/// lock alive, and announces the end on the bus and in session state.
///
/// `received` runs on the connection's event loop (RTMP) or its SRT receive thread, in order;
/// the counters sit behind a lock because `ended` may finish on another thread.
final class StreamPublisher: RTMPPublishSink {
    private struct Progress {
        var sequence: UInt64 = 0
        var bytes: UInt64 = 0
        var unwrapper = TimestampUnwrapper()
        var ended = false
        var droppedMessages = 0
        /// What session state says of the stream; refreshed with each lock renewal.
        var session: StreamSession
        /// The newest metadata and decoder configurations, for readers joining mid-session.
        var headers: [MediaFrame] = []
        /// Stamps each frame with its segment: ingest is where the stream's timeline is decided.
        var cutter: SegmentCutter
        /// Reads the video's caption SEI, for session state to say which channels it carries.
        var captions = CaptionScanner()
        /// The channels `session.captions` names.
        var notedCaptions = CaptionChannels()
    }

    let streamID: StreamID
    let sessionID: UInt64
    private let lockOwner: String
    private let startedAt: Date
    private let environment: IngestEnvironment
    private let connection: any PublishingConnection
    /// Guards stamping and counters: `received` on the event loop, read by the renewal task, closed by
    /// `ended` from another thread.
    private let progress: NIOLockedValueBox<Progress>
    /// The lock-renewal task: set from the policy's task, cancelled by `ended` on another thread, so locked.
    private let renewal = NIOLockedValueBox<Task<Void, Never>?>(nil)
    private let logger: Logger

    init(session: StreamSession, lockOwner: String, environment: IngestEnvironment, connection: any PublishingConnection,
         cutRules: SegmentCutter.Rules, continuing: SegmentCutter.Continuation?, logger: Logger) {
        self.streamID = session.streamID
        self.sessionID = session.sessionID
        self.lockOwner = lockOwner
        self.startedAt = session.startedAt
        self.progress = NIOLockedValueBox(Progress(session: session, cutter: SegmentCutter(rules: cutRules, continuing: continuing)))
        self.environment = environment
        self.connection = connection
        self.logger = logger
    }

    /// Keeps the publish lock and the live entry alive. The lock is re-taken rather than only
    /// renewed, so after session state lost it (a Redis restart) the publisher registers again;
    /// a lock another node holds kicks this publisher; session state that does not answer is
    /// retried at the next round without stopping anyone.
    func startLockRenewal() {
        let ttl = environment.configuration.publishLockTTL
        let task = Task { [streamID, lockOwner, environment, connection, logger] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                try? await environment.sessions.markLive(self.currentSession())
                await self.recordContinuation()
                self.recordHeaders()
                try? await Task.sleep(for: ttl / 3 - .seconds(1))
                guard !Task.isCancelled else { return }
                do {
                    guard try await environment.sessions.acquirePublishLock(streamID, owner: lockOwner, ttl: ttl) else {
                        logger.warning("publish lock lost; stopping publisher", metadata: ["stream": "\(streamID)"])
                        connection.stop(description: "Publish lock lost.")
                        return
                    }
                } catch {
                    logger.warning("publish lock not renewed; session state unavailable",
                                   metadata: ["stream": "\(streamID)", "error": "\(error)"])
                }
            }
        }
        renewal.withLockedValue { $0 = task }
    }

    /// Notes where the stream's next session goes on numbering (see `SegmentCutter.Continuation`).
    private func recordContinuation() async {
        guard let next = progress.withLockedValue({ $0.cutter.continuation }) else { return }
        try? await environment.sessions.recordContinuation(streamID, next)
    }

    /// The session as it should read in session state now, with an up-to-date bitrate.
    private func currentSession() -> StreamSession {
        progress.withLockedValue { progress in
            let seconds = max(1, Date().timeIntervalSince(startedAt))
            progress.session.bitrate = Int(Double(progress.bytes * 8) / seconds)
            return progress.session
        }
    }

    /// Notes the publisher's SRT link in session state (with the rest of the session, as the
    /// renewal does), so the streams API of any node shows it.
    func noteLink(_ link: SRTLinkStatus) async {
        guard progress.withLockedValue({ progress -> Bool in
            progress.session.srt = link
            return !progress.ended
        }) else { return }
        try? await environment.sessions.markLive(currentSession())
        // Ended meanwhile: its offline may have been written first, and must stay the last word.
        if progress.withLockedValue({ $0.ended }) { try? await environment.sessions.markOffline(streamID, sessionID: sessionID) }
    }

    /// Hands the session's headers to the playback-start recorder.
    private func recordHeaders() {
        guard let recorder = environment.playbackStarts else { return }
        let headers = progress.withLockedValue { $0.headers }
        if !headers.isEmpty { recorder.headers(streamID, session: sessionID, headers) }
    }

    func received(_ message: RTMPMessage) {
        publish(type: Self.tagType(of: message), body: message.payload) { $0.unwrap(message.timestamp) }
    }

    /// One FLV tag (`type`, `body`) of a publisher whose protocol already gives 64-bit times
    /// (`dts`, milliseconds): SRT's MPEG-TS, demuxed. Same stamping and bus as RTMP's messages.
    func received(tag type: FLVTagType, body: ByteBuffer, dts: Int64) {
        publish(type: type, body: body) { _ in dts }
    }

    /// Stamps one tag and puts it on the bus; a tag of no media type (`type` nil), without a
    /// time, or that does not read as a frame is counted and skipped.
    private func publish(type: FLVTagType?, body: ByteBuffer, dts: (inout TimestampUnwrapper) -> Int64?) {
        let frame: MediaFrame? = progress.withLockedValue { progress in
            guard !progress.ended else { return nil }
            progress.bytes += UInt64(body.readableBytes)
            guard let dts = dts(&progress.unwrapper), let type,
                  var frame = MediaFrame(tag: type, body: body, dts: dts, sessionID: sessionID, sequence: progress.sequence) else {
                progress.droppedMessages += 1
                return nil
            }
            progress.cutter.stamp(&frame, arrivedAt: environment.now())
            progress.sequence += 1
            describe(frame, in: &progress.session)
            if frame.kind == .video { noteCaptions(frame, in: &progress) }
            if frame.isConfiguration {
                progress.headers.removeAll { $0.kind == frame.kind }
                progress.headers.append(frame)
                progress.headers.sort { $0.kind.rawValue > $1.kind.rawValue }  // metadata, audio, video
            }
            return frame
        }
        guard let frame else { return }
        if frame.isConfiguration { recordHeaders() }
        do {
            try environment.bus.publish(BusRecord(key: streamID.rawValue, value: .frame(frame)), to: .mediaSource)
        } catch {
            logger.error("media frame not published", metadata: ["stream": "\(streamID)", "error": "\(error)"])
        }
    }

    /// Notes codecs and, from `onMetaData`, size and frame rate.
    private func describe(_ frame: MediaFrame, in session: inout StreamSession) {
        switch frame.kind {
        case .video where session.videoCodec == nil: session.videoCodec = frame.codec
        case .audio where session.audioCodec == nil: session.audioCodec = frame.codec
        case .metadata:
            // StreamMetadata checks every number (a hostile `width: 1e300` once trapped here).
            guard let metadata = try? StreamMetadata(script: frame.payload) else { return }
            session.width = metadata.width
            session.height = metadata.height
            session.frameRate = metadata.frameRate
        default:
            break
        }
    }

    private func noteCaptions(_ frame: MediaFrame, in progress: inout Progress) {
        progress.captions.scan(videoTag: frame.payload)
        guard progress.captions.channels != progress.notedCaptions else { return }
        progress.notedCaptions = progress.captions.channels
        progress.session.captions = progress.notedCaptions.instreamIDs
    }

    private static func tagType(of message: RTMPMessage) -> FLVTagType? {
        switch message.type {
        case .video?: return .video
        case .audio?: return .audio
        case .dataAMF0?: return .script
        default: return nil
        }
    }

    func ended(_ reason: PublishEndReason) {
        let final = progress.withLockedValue { progress -> (sequence: UInt64, bytes: UInt64, dropped: Int)? in
            guard !progress.ended else { return nil }
            progress.ended = true
            return (progress.sequence, progress.bytes, progress.droppedMessages)
        }
        guard let final else { return }
        renewal.withLockedValue { $0?.cancel() }
        environment.publishers.remove(self)
        let end = MediaFrame(kind: .end, dts: 0, sessionID: sessionID, sequence: final.sequence, payload: .init())
        try? environment.bus.publish(BusRecord(key: streamID.rawValue, value: .frame(end)), to: .mediaSource)
        let offline = StreamOffline(streamID: streamID, sessionID: sessionID, reason: reason.offlineReason,
                                    bytes: final.bytes, durationSeconds: Date().timeIntervalSince(startedAt))
        environment.announce(.offline(offline))
        logger.info("stream offline", metadata: [
            "stream": "\(streamID)", "reason": "\(reason.rawValue)", "bytes": "\(final.bytes)",
            "unreadableMessages": "\(final.dropped)",
        ])
        Task { [environment, streamID, sessionID, lockOwner] in
            await self.recordContinuation()
            try? await environment.sessions.markOffline(streamID, sessionID: sessionID)
            try? await environment.sessions.releasePublishLock(streamID, owner: lockOwner)
        }
    }
}

extension PublishEndReason {
    var offlineReason: StreamOffline.Reason {
        switch self {
        case .unpublished: return .unpublished
        case .disconnected: return .disconnected
        case .stopped: return .stopped
        case .protocolError: return .protocolError
        }
    }
}
