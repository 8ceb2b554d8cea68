import Events
import RTMP

/// Which destinations of a live stream start and stop when its channel's relays change: pure.
/// A destination is its publish target (scheme, host, port, app, stream name), so a URL edited
/// to the same target keeps its connection.
public struct RelayDestinationsChange: Sendable, Hashable {
    /// Relayed now and no longer asked for: stopped.
    public var stopped: [RTMPPublishTarget]
    /// Asked for and not relayed yet: started (their URLs as the channel has them).
    public var started: [String]

    public init(relaying current: [RTMPPublishTarget], wanted urls: [String]) {
        let wanted = urls.compactMap(RTMPPublishTarget.init(url:))
        stopped = current.filter { !wanted.contains($0) }
        var seen = Set(current)
        started = urls.filter { url in
            guard let target = RTMPPublishTarget(url: url) else { return true }  // reported when started
            return seen.insert(target).inserted
        }
    }

    public var isEmpty: Bool { stopped.isEmpty && started.isEmpty }
}

/// Relays follow their channel live (issue 23): on a change of a relayed stream's channel the
/// worker re-reads its relays, stops the destinations removed and starts the ones added; an
/// added one gets the session's headers, then joins at the next keyframe (`RelayPusher` waits
/// for one). The others go on untouched, and the publisher never reconnects.
extension RelayWorker {
    func followChannelChanges() async {
        do {
            try await channelChanges.forEachChangedChannel { await channelChanged($0) }
        } catch {
            logger.error("channel changes not read; relays change when the stream publishes again", metadata: ["error": "\(error)"])
        }
    }

    func channelChanged(_ id: StreamID) async {
        // Streams still joining read their relays as they open.
        guard let relayed = streams.withLockedValue({ $0[id] }), relayed.join == nil else { return }
        let urls = await channels.channel(of: id, logger: logger)?.relayURLs ?? []
        let change = RelayDestinationsChange(relaying: relayed.pushers.map(\.target), wanted: urls)
        guard !change.isEmpty else { return }
        let added = pushers(to: change.started, of: id, session: relayed.sessionID)
        let (stopped, current, none) = streams.withLockedValue { streams -> ([RelayPusher], Bool, Bool) in
            guard var entry = streams[id], entry.sessionID == relayed.sessionID else { return ([], false, false) }
            let stopped = entry.pushers.filter { change.stopped.contains($0.target) }
            entry.pushers = entry.pushers.filter { !change.stopped.contains($0.target) } + added
            streams[id] = entry
            // Sent under the lock, so no newer header from the frame path comes before them.
            for kind in [MediaFrame.Kind.metadata, .video, .audio] {
                guard let header = entry.headers[kind] else { continue }
                added.forEach { $0.send(header) }
            }
            return (stopped, true, entry.pushers.isEmpty)
        }
        guard current else {
            added.forEach { $0.stop() }  // the session ended meanwhile
            return
        }
        stopped.forEach { $0.stop() }
        // The status report skips streams with no destinations: their last statuses go here.
        if none {
            try? await sessions.setRelayStatuses([], of: id)
        }
        logger.info("relays changed while live", metadata: [
            "stream": "\(id)", "started": "\(added.count)", "stopped": "\(stopped.count)",
        ])
    }
}
