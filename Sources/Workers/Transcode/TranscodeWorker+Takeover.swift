import Events
import Foundation
import State

extension TranscodeWorker {
    /// Watches the live sessions for one whose transcoding lease nobody holds (its worker died
    /// or gave it up) and takes it over: the lease first, then a read of the stream's partition of
    /// its own from the newest recorded segment starts, joining at the first segment start
    /// published after the previous holder could have read anything (`TranscodeLeasing.lookback`).
    /// Sessions live for less than `grace` are left to their partition's owner. A session this
    /// worker's partition passes over (leased elsewhere) is taken over the same way: its frames
    /// from the partition were passed over, so the read goes back for them.
    func takeOverLapsedSessions(_ leases: HeldLeases) async {
        let leasing = leases.leasing
        // Sessions whose channel transcodes nothing, asked again after a while.
        var untranscoded: [String: ContinuousClock.Instant] = [:]
        await withDiscardingTaskGroup { readers in
            while !Task.isCancelled {
                try? await Task.sleep(for: leasing.poll)
                guard let live = try? await leasing.sessions.liveSessions() else { continue }
                let now = Date()
                let candidates = live.filter { session in
                    now.timeIntervalSince(session.startedAt) >= SessionJoin.seconds(leasing.grace)
                        && streams.withLockedValue { $0[session.streamID].map { $0.sessionID != session.sessionID || $0.heldElsewhere } ?? true }
                        && finished.withLockedValue { $0[session.streamID] } != session.sessionID
                }
                let names = candidates.map { TranscodeLeasing.name($0.streamID, $0.sessionID) }
                guard !names.isEmpty, let holders = try? await leasing.leases.holders(of: names) else { continue }
                untranscoded = untranscoded.filter { ContinuousClock.now - $0.value < .seconds(10) }
                for (session, (name, holder)) in zip(candidates, zip(names, holders)) where holder == nil && untranscoded[name] == nil {
                    guard let settings = await settings(session.streamID) else {
                        untranscoded[name] = .now
                        continue
                    }
                    guard let reader = await takeOver(session, settings: settings, leases: leases) else { continue }
                    readers.addTask { await reader() }
                }
            }
        }
    }

    /// Takes the session's lease and adds its entry; returns the read that feeds it, or nil when
    /// another worker took the lease first or the session is gone.
    private func takeOver(_ session: StreamSession, settings: TranscodeSettings,
                          leases: HeldLeases) async -> (@Sendable () async -> Void)? {
        let id = session.streamID
        guard await leases.claim(id, session: session.sessionID) else { return nil }
        guard let start = try? await leases.leasing.sessions.packagingStart(of: id), start.sessionID == session.sessionID else {
            await leases.release(id, session: session.sessionID)
            return nil
        }
        let joinedAt = Date()
        let join = SessionJoin(session: session.sessionID, headers: start.source.headers, joinedAt: joinedAt,
                               lookback: leases.leasing.lookback, opener: .segmentStart)
        var entry = Stream(sessionID: session.sessionID, origin: .takeover, join: join, settings: settings)
        entry.source = settings.playbackSource
        guard let stream = insert(entry, of: id) else {
            return nil  // the partition's frames began it here meanwhile (with this worker's lease)
        }
        logger.info("joining a session under way", metadata: [
            "stream": "\(id)", "via": "lease", "age_ms": "\(Int(joinedAt.timeIntervalSince(session.startedAt) * 1000))",
        ])
        let subscription = bus.subscribe(to: .mediaSource, key: id.rawValue, from: start.source.offset.map { .offset($0) } ?? .end)
        return { [self] in
            do {
                for try await delivery in subscription {
                    guard streams.withLockedValue({ $0[id]?.generation }) == stream.generation else { break }
                    guard case .frame(let frame) = delivery.record.value, frame.rendition.isEmpty else { continue }
                    if frame.sessionID != session.sessionID {
                        // The publisher began again: the partition's owner has the new session.
                        await finishTakeover(id, generation: stream.generation, at: frame)
                        break
                    }
                    await handle(frame, of: id, via: .takeover, publishedAt: delivery.publishedAt)
                    // Its end (or a lost lease) removed the entry: the read is over.
                    guard streams.withLockedValue({ $0[id]?.generation }) == stream.generation else { break }
                }
            } catch {
                logger.error("taken-over session's read failed", metadata: ["stream": "\(id)", "error": "\(error)"])
                if let lost = take(id, generation: stream.generation) {
                    lost.transcoder?.stop()
                    await leases.release(id, session: lost.sessionID)
                }
            }
            await subscription.close()
        }
    }

    /// The taken-over session ended without its end frame (a new session followed it).
    private func finishTakeover(_ id: StreamID, generation: UInt64, at frame: MediaFrame) async {
        guard let ended = take(id, generation: generation) else { return }
        await ended.transcoder?.finish(at: frame.dts, sequence: frame.sequence)
        finished.withLockedValue { $0[id] = ended.sessionID }
        leases?.forget(id, session: ended.sessionID)
    }
}
