import Events
import NIOConcurrencyHelpers

/// The newest events of each channel, in memory on every API node, fed by `ChannelTimelineFeed`
/// from the log (`sluice.stream.lifecycle`, `sluice.assets`, `sluice.webhooks.deadletter`).
///
/// Why an index and not the log per request: a channel's events are scattered over topics
/// that hold every stream's (a week of them in Kafka), so reading them per request would read
/// everything. Each node builds the index itself, from the log every node can read (at start
/// from the log's beginning: the whole retained log once), so any node answers any request the
/// same, and a restart rebuilds it. Bounded: `perChannel` events per channel, `total` in all
/// (past it, the channel whose newest event is oldest is forgotten).
final class ChannelTimeline: Sendable {
    /// Events kept per channel. Default 1000.
    let perChannel: Int
    /// Events kept in all. Default 200 000 (a few hundred bytes each).
    let total: Int

    private struct Channel {
        /// Oldest first, in `TimelinePosition` order.
        var events: [TimelineEvent] = []
        /// When the channel last got an event (the index's own count), for forgetting the stalest.
        var touched: UInt64 = 0
    }

    private struct Index {
        var channels: [ChannelID: Channel] = [:]
        var count = 0
        var clock: UInt64 = 0
        var seen: Set<String> = []
    }

    // A lock: adding and reading a page are array steps that never suspend.
    private let index = NIOLockedValueBox(Index())

    init(perChannel: Int = 1000, total: Int = 200_000) {
        self.perChannel = max(1, perChannel)
        self.total = max(self.perChannel, total)
    }

    /// Adds `event` to the timeline of the channel `key` names; keys that name no channel (a
    /// refused publish to a made-up name) and events already held are passed over.
    func add(_ event: TimelineEvent, key: String) {
        guard let channel = ChannelID(key) else { return }
        index.withLockedValue { index in
            let name = "\(channel)/\(event.id)"
            guard !index.seen.contains(name) else { return }
            index.clock &+= 1
            var entry = index.channels[channel] ?? Channel()
            entry.touched = index.clock
            let position = event.position
            let at = entry.events.lastIndex { $0.position < position }.map { $0 + 1 } ?? 0
            entry.events.insert(event, at: at)
            index.seen.insert(name)
            index.count += 1
            if entry.events.count > perChannel {
                let gone = entry.events.removeFirst()
                index.seen.remove("\(channel)/\(gone.id)")
                index.count -= 1
            }
            index.channels[channel] = entry
            while index.count > total, let stalest = index.channels.min(by: { $0.value.touched < $1.value.touched })?.key {
                let gone = index.channels.removeValue(forKey: stalest)?.events ?? []
                for event in gone { index.seen.remove("\(stalest)/\(event.id)") }
                index.count -= gone.count
            }
        }
    }

    /// A page of `channel`'s events, newest first, older than `before` (nil: from the newest);
    /// `next` names the position to pass as `before` for the page after, nil when none is left.
    func page(of channel: ChannelID, limit: Int, before: TimelinePosition?) -> (events: [TimelineEvent], next: TimelinePosition?) {
        index.withLockedValue { index in
            let events = index.channels[channel]?.events ?? []
            let end = before.map { cursor in events.lastIndex { $0.position < cursor }.map { $0 + 1 } ?? 0 } ?? events.count
            let start = max(0, end - max(1, limit))
            let page = Array(events[start..<end].reversed())
            return (page, start > 0 ? page.last?.position : nil)
        }
    }
}
