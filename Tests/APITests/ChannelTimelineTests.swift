import Events
import Foundation
import Logging
import Testing
@testable import API

/// The events timeline: its bounded per-channel index, its cursors (opaque, checked), and its
/// feed from the bus and, on one machine, from the journal of earlier runs.
@Suite(.timeLimit(.minutes(1))) struct ChannelTimelineTests {
    let channel = ChannelID(UUID(uuidString: "98724e64-bcd1-4887-af4a-60be440709aa")!)
    var stream: StreamID { StreamID(channel.description)! }
    /// In the past: events of this run (timed by the clock) are newer.
    let start = Date(timeIntervalSince1970: 1_700_000_000)

    func online(_ session: UInt64) -> LifecycleEvent {
        .online(StreamOnline(streamID: stream, sessionID: session, node: "n", client: "127.0.0.1:5000", protocolName: "rtmp"))
    }

    func offline(_ session: UInt64) -> LifecycleEvent {
        .offline(StreamOffline(streamID: stream, sessionID: session, reason: .disconnected, bytes: 10, durationSeconds: 65))
    }

    @Test func pagesRunNewestFirstAndCursorsContinueThem() throws {
        let timeline = ChannelTimeline()
        for index in 0..<7 {
            let event = index.isMultiple(of: 2) ? online(UInt64(index)) : offline(UInt64(index))
            timeline.add(TimelineEvent(id: "l\(index)", at: start.addingTimeInterval(Double(index)), event), key: channel.description)
        }
        // Added out of order, and twice: placed by time, held once.
        timeline.add(TimelineEvent(id: "l9", at: start.addingTimeInterval(-1), online(9)), key: channel.description.uppercased())
        timeline.add(TimelineEvent(id: "l9", at: start.addingTimeInterval(-1), online(9)), key: channel.description)
        let first = timeline.page(of: channel, limit: 3, before: nil)
        #expect(first.events.map(\.id) == ["l6", "l5", "l4"])
        #expect(first.events[1].summary == "Went offline: publisher disconnected, after 1 min 5 s")
        let cursor = try #require(first.next?.cursor)
        let second = timeline.page(of: channel, limit: 3, before: TimelinePosition(cursor: cursor))
        #expect(second.events.map(\.id) == ["l3", "l2", "l1"])
        let last = timeline.page(of: channel, limit: 3, before: second.next)
        #expect(last.events.map(\.id) == ["l0", "l9"])
        #expect(last.next == nil)
        #expect(timeline.page(of: ChannelID(), limit: 3, before: nil).events.isEmpty)
    }

    @Test func theIndexIsBoundedPerChannelAndInAll() {
        let timeline = ChannelTimeline(perChannel: 5, total: 12)
        for index in 0..<8 {
            timeline.add(TimelineEvent(id: "l\(index)", at: start.addingTimeInterval(Double(index)), online(1)), key: channel.description)
        }
        #expect(timeline.page(of: channel, limit: 200, before: nil).events.map(\.id) == ["l7", "l6", "l5", "l4", "l3"])
        let others = (0..<3).map { _ in ChannelID() }
        for other in others {
            for index in 0..<4 {
                timeline.add(TimelineEvent(id: "l\(index)", at: start, online(1)), key: other.description)
            }
        }
        #expect(timeline.page(of: channel, limit: 200, before: nil).events.isEmpty, "the stalest channel went first")
        #expect(others.allSatisfy { timeline.page(of: $0, limit: 200, before: nil).events.count == 4 })
        timeline.add(TimelineEvent(id: "l1", at: start, online(1)), key: "cam1")
        #expect(timeline.page(of: others[0], limit: 200, before: nil).events.count == 4, "a key that names no channel is passed over")
    }

    @Test func cursorsAreCheckedWhereTheyEnter() throws {
        let position = TimelinePosition(milliseconds: 1_800_000_000_123, id: "k3.1042")
        #expect(TimelinePosition(cursor: position.cursor) == position)
        for bad in ["", "abc", "!!!!", String(repeating: "A", count: 200), Data("1~../x".utf8).base64EncodedString(),
                    Data("99999999999999999999~l1".utf8).base64EncodedString(), Data("-5~l1".utf8).base64EncodedString(),
                    Data("12~".utf8).base64EncodedString(), Data("12".utf8).base64EncodedString()] {
            #expect(TimelinePosition(cursor: bad) == nil, "\(bad)")
        }
        #expect(throws: APIError.self) { try ChannelsAPI.timelineQuery(["limit": "0"]) }
        #expect(throws: APIError.self) { try ChannelsAPI.timelineQuery(["limit": "201"]) }
        #expect(throws: APIError.self) { try ChannelsAPI.timelineQuery(["limit": "99999999999999999999"]) }
        #expect(throws: APIError.self) { try ChannelsAPI.timelineQuery(["before": "nope"]) }
        #expect(try ChannelsAPI.timelineQuery([:]).limit == 50)
        #expect(try ChannelsAPI.timelineQuery(["limit": "200", "before": position.cursor]).before == position)
    }

    /// One machine: the journal of an earlier run is read at start, and this run's events get the
    /// ids the journal will give them, so ids stay put across a restart.
    @Test func theFeedReadsTheJournalThenTheBus() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("timeline-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let journal = try EventJournal(directory: folder, source: "earlier")
        journal.append(BusRecord(key: stream.rawValue, value: .lifecycle(online(1))), to: .streamLifecycle, time: start)
        journal.append(BusRecord(key: stream.rawValue, value: .lifecycle(offline(1))), to: .streamLifecycle,
                       time: start.addingTimeInterval(60))
        let letter = WebhookDeadLetter(url: "https://hooks.example/x", eventType: "stream.online", eventID: "e", streamID: stream.rawValue,
                                       attempts: 6, lastError: "HTTP 503", body: "{\"secret\":1}")
        journal.append(BusRecord(key: stream.rawValue, value: .webhookDeadLetter(letter)), to: .webhookDeadLetter,
                       time: start.addingTimeInterval(61))
        journal.close()

        let bus = EmbeddedEventBus()
        let feed = ChannelTimelineFeed(bus: bus, journal: folder, timeline: ChannelTimeline(), logger: Logger(label: "test"))
        let before = feed.timeline.page(of: channel, limit: 10, before: nil).events
        #expect(before.map(\.id) == ["w0", "l1", "l0"])
        #expect(before.map(\.type) == ["webhook.failed", "stream.offline", "stream.online"])
        #expect(before.first?.summary == "Webhook stream.online to https://hooks.example/x failed after 6 attempts: HTTP 503")
        guard case .object(let detail)? = before.first?.detail else {
            Issue.record("no detail")
            return
        }
        #expect(detail["body"] == nil, "a dead letter's body is not shown")

        try bus.publish(BusRecord(key: stream.rawValue, value: .lifecycle(online(2))), to: .streamLifecycle)
        var deliveries = bus.subscribe(to: .streamLifecycle, from: .beginning).makeAsyncIterator()
        let delivery = try #require(try await deliveries.next())
        feed.add(delivery, of: .streamLifecycle)
        let after = feed.timeline.page(of: channel, limit: 1, before: nil).events
        #expect(after.map(\.id) == ["l2"])
        #expect(after.first?.summary == "Went live from 127.0.0.1:5000 over RTMP")
    }
}
