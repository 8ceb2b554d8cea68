import Events
import Foundation

/// The transcoding a stream's channel asks for after it changed (nil: none), waiting for the
/// stream's next frame on the worker's frame path.
struct LiveSettingsRequest: Sendable {
    var settings: TranscodeSettings?
}

/// Settings that apply live (issue 23): every worker reads `sluice.channels` from its end; for a
/// stream it transcodes (or reads and could transcode) it re-reads the channel and leaves the
/// answer in `requests`. The frame path alone changes a stream's entry, so it picks the request
/// up at the stream's next frame, plans it (`LiveTranscodeChange`) and carries it out at the
/// next segment start: a transcoder starts there (with the session's headers), is reconfigured
/// there, or finishes there (its renditions end).
extension TranscodeWorker {
    /// Reads channel changes until the worker stops.
    func followChannelChanges() async {
        do {
            try await channelChanges.forEachChangedChannel { await channelChanged($0) }
        } catch {
            logger.error("channel changes not read; live streams keep their settings until they publish again",
                         metadata: ["error": "\(error)"])
        }
    }

    /// `id`'s channel changed: if this worker has the stream, what its channel asks for now is
    /// left for the frame path.
    func channelChanged(_ id: StreamID) async {
        guard streams.withLockedValue({ $0[id].map { !$0.heldElsewhere } ?? false }) else { return }
        let requested = await settings(id)
        requests.withLockedValue { $0[id] = LiveSettingsRequest(settings: requested) }
        logger.info("channel changed while live; applying at the next segment start", metadata: ["stream": "\(id)"])
    }

    /// Plans `request` against the stream's transcoding. Starting waits for a segment start as a
    /// join of the session (with the headers seen so far); the rest waits in `change`.
    func plan(_ request: LiveSettingsRequest, for stream: inout Stream, of id: StreamID) async {
        let plan = LiveTranscodeChange.plan(current: stream.target, requested: request.settings, sessionSource: stream.source)
        switch plan {
        case .none:
            if stream.source.isEmpty, request.settings?.renditions.isEmpty == true {
                logger.notice("a watermark without a ladder applies from the next publish: the source plays itself this session",
                              metadata: ["stream": "\(id)"])
            }
            return
        case .start(let settings) where stream.transcoder != nil:
            // Stopping at the next segment start, and now asked for again: it goes on.
            stream.change = settings == stream.settings ? .none : .reconfigure(settings)
        case .start(let settings):
            if let leases, await !leases.claim(id, session: stream.sessionID) {
                stream.heldElsewhere = true
                logger.info("session transcoded by another worker", metadata: ["stream": "\(id)", "session": "\(stream.sessionID)"])
                return
            }
            var headers = Array(stream.headers.values)
            if stream.headers[.video] == nil, let joining { headers = await joining.headers(id, stream.sessionID) }
            stream.settings = settings
            stream.join = SessionJoin(session: stream.sessionID, headers: headers, joinedAt: Date(), lookback: nil, opener: .segmentStart)
            stream.change = .none
        case .stop where stream.transcoder == nil:
            // Not started yet (joining): nothing to end.
            stream.settings = nil
            stream.join = nil
            stream.change = .none
            await leases?.release(id, session: stream.sessionID)
        case .stop:
            stream.change = .stop
        case .reconfigure(let settings) where stream.transcoder == nil:
            stream.settings = settings  // the join under way starts with these
        case .reconfigure(let settings):
            stream.change = settings == stream.settings ? .none : .reconfigure(settings)
        }
        logger.info("live settings planned", metadata: ["stream": "\(id)", "change": "\(stream.change.summary)"])
    }

    /// Carries out the waiting change at `frame`, a segment start, before `frame` is transcoded.
    func switchSettings(_ stream: inout Stream, of id: StreamID, at frame: MediaFrame) async {
        defer { stream.change = .none }
        switch stream.change {
        case .none, .start:
            return
        case .reconfigure(let settings):
            stream.transcoder?.reconfigure(settings)
            stream.settings = settings
        case .stop:
            if let transcoder = stream.transcoder {
                await transcoder.finish(at: frame.dts, sequence: frame.sequence)
                dropped.withLockedValue { $0 += transcoder.droppedFrames }
            }
            stream.transcoder = nil
            stream.settings = nil
            await leases?.release(id, session: stream.sessionID)
            logger.info("transcoding stopped live; renditions ended", metadata: ["stream": "\(id)", "at": "\(frame.dts)"])
        }
    }
}

extension TranscodeWorker.Stream {
    /// What the session is transcoded with once the waiting change is made; nil for nothing
    /// (also when its transcoder could not start: a change then tries again).
    var target: TranscodeSettings? {
        switch change {
        case .stop: return nil
        case .start(let settings), .reconfigure(let settings): return settings
        case .none: return transcoder != nil || join != nil ? settings : nil
        }
    }

    /// Notes the session's configurations (and whether it has video) as they pass.
    mutating func remember(_ frame: MediaFrame) {
        if frame.kind == .video { hasVideo = true }
        if frame.isConfiguration, frame.sessionID == sessionID { headers[frame.kind] = frame }
    }
}

extension LiveTranscodeChange {
    /// For logs.
    var summary: String {
        switch self {
        case .none: return "none"
        case .start(let settings): return "start \(settings.renditions.map(\.rawValue))"
        case .reconfigure(let settings): return "reconfigure \(settings.renditions.map(\.rawValue))"
        case .stop: return "stop"
        }
    }
}
