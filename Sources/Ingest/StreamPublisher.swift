import Events
import Foundation
import Logging
import Media
import NIOConcurrencyHelpers
import RTMP
import State

/// One accepted publish session: turns RTMP media into `MediaFrame`s on the bus, keeps the
/// publish lock alive, and announces the end on the bus and in session state.
///
/// `received` runs on the connection's event loop, in order; the counters sit behind a lock
/// because `ended` may finish on another thread.
final class StreamPublisher: RTMPPublishSink {
    private struct Progress {
        var sequence: UInt64 = 0
        var bytes: UInt64 = 0
        var unwrapper = TimestampUnwrapper()
        var ended = false
        var droppedMessages = 0
    }

    let streamID: StreamID
    let sessionID: UInt64
    private let lockOwner: String
    private let startedAt: Date
    private let environment: IngestEnvironment
    private let connection: RTMPConnection
    private let progress = NIOLockedValueBox(Progress())
    private let renewal = NIOLockedValueBox<Task<Void, Never>?>(nil)
    private let logger: Logger

    init(streamID: StreamID, sessionID: UInt64, lockOwner: String, environment: IngestEnvironment,
         connection: RTMPConnection, logger: Logger) {
        self.streamID = streamID
        self.sessionID = sessionID
        self.lockOwner = lockOwner
        self.startedAt = Date()
        self.environment = environment
        self.connection = connection
        self.logger = logger
    }

    /// Keeps the publish lock alive; a lock lost to another node kicks this publisher.
    func startLockRenewal() {
        let ttl = environment.configuration.publishLockTTL
        let task = Task { [streamID, lockOwner, environment, connection, logger] in
            while !Task.isCancelled {
                try? await Task.sleep(for: ttl / 3)
                guard !Task.isCancelled else { return }
                let held = (try? await environment.sessions.renewPublishLock(streamID, owner: lockOwner, ttl: ttl)) ?? false
                if !held {
                    logger.warning("publish lock lost; stopping publisher", metadata: ["stream": "\(streamID)"])
                    connection.stop(description: "Publish lock lost.")
                    return
                }
            }
        }
        renewal.withLockedValue { $0 = task }
    }

    func received(_ message: RTMPMessage) {
        let frame: MediaFrame? = progress.withLockedValue { progress in
            guard !progress.ended else { return nil }
            progress.bytes += UInt64(message.payload.readableBytes)
            let dts = progress.unwrapper.unwrap(message.timestamp)
            guard let frame = makeFrame(message, dts: dts, sequence: progress.sequence) else {
                progress.droppedMessages += 1
                return nil
            }
            progress.sequence += 1
            return frame
        }
        guard let frame else { return }
        do {
            try environment.bus.publish(BusRecord(key: streamID.rawValue, value: .frame(frame)), to: .mediaSource)
        } catch {
            logger.error("media frame not published", metadata: ["stream": "\(streamID)", "error": "\(error)"])
        }
    }

    private func makeFrame(_ message: RTMPMessage, dts: Int64, sequence: UInt64) -> MediaFrame? {
        let payload = message.payload
        switch message.type {
        case .video?:
            guard let info = try? VideoTagInfo(body: payload) else { return nil }
            var flags: MediaFrame.Flags = []
            if info.isKeyframe { flags.insert(.keyframe) }
            if info.isSequenceHeader { flags.insert(.sequenceHeader) }
            return MediaFrame(kind: .video, flags: flags, codec: info.codec.rawValue, dts: dts,
                              pts: dts + Int64(info.compositionTime), sessionID: sessionID, sequence: sequence,
                              payload: payload)
        case .audio?:
            guard let info = try? AudioTagInfo(body: payload) else { return nil }
            return MediaFrame(kind: .audio, flags: info.isSequenceHeader ? .sequenceHeader : [],
                              codec: info.codec.rawValue, dts: dts, sessionID: sessionID, sequence: sequence,
                              payload: payload)
        case .dataAMF0?:
            return MediaFrame(kind: .metadata, dts: dts, sessionID: sessionID, sequence: sequence, payload: payload)
        default:
            return nil
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
