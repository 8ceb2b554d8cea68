import Events
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
@testable import Packager
import State
import Testing

/// Packaging on demand over the embedded bus, without sockets: a first request starts a keyed
/// read a few segments back and is answered once the packager caught up; a stream that is not
/// live is not found at once; a live one not packaged yet is waited for; reading stops when
/// requests stop.
@Suite(.timeLimit(.minutes(1))) struct PackagerHubOnDemandTests {
    let stream = StreamID("cam")!
    let loop = MultiThreadedEventLoopGroup.singleton.next()

    /// An embedded bus and session state written as ingest and its recorder write it.
    final class Log: Sendable {
        let bus = EmbeddedEventBus()
        let sessions = InMemorySessionStore()
        /// The next offset of each topic: the embedded log numbers each topic's records from 0.
        private let offsets = NIOLockedValueBox<[Topic: Int64]>([:])
        /// Each stream's live session and headers so far, by key and rendition.
        private let live = NIOLockedValueBox<[String: UInt64]>([:])
        private let headers = NIOLockedValueBox<[String: [MediaFrame]]>([:])
        /// Writers' segment cutters, by key and rendition.
        private let cutters = NIOLockedValueBox<[String: SegmentCutter]>([:])

        func feed(idleSeconds: Double = 30, firstPackageSeconds: Double = 5) -> PackagingFeed {
            PackagingFeed(sessions: sessions, idleSeconds: idleSeconds, firstPackageSeconds: firstPackageSeconds)
        }

        /// Marks `key`'s session live, as ingest does when a publisher is accepted.
        func goLive(_ key: String, session: UInt64) async throws {
            guard live.withLockedValue({ $0[key] }) != session else { return }
            try await sessions.markLive(StreamSession(streamID: StreamID(key)!, sessionID: session, node: "ingest", startedAt: Date()))
            live.withLockedValue { $0[key] = session }
        }

        /// Publishes `frames` as ingest (or a transcoder) does: stamped with their segments;
        /// configurations go to session state only (readers joining late get them from there).
        /// - Parameter recorded: whether where segment starts landed is recorded.
        /// - Returns: the offsets of the segment starts published.
        @discardableResult
        func publish(_ frames: [MediaFrame], key: String, configurationsOnBus: Bool = false, recorded: Bool = true) async throws -> [Int64] {
            let id = StreamID(key)!
            var starts: [Int64] = []
            for var frame in frames {
                try await goLive(key, session: frame.sessionID)
                cutters.withLockedValue { cutters in
                    var cutter = cutters[key + "/" + frame.rendition] ?? SegmentCutter(rules: .init())
                    cutter.stamp(&frame, arrivedAt: Date(timeIntervalSince1970: 1_800_000_000 + Double(frame.dts) / 1000))
                    cutters[key + "/" + frame.rendition] = cutter
                }
                if frame.isConfiguration {
                    let all = headers.withLockedValue { headers in
                        headers[key + "/" + frame.rendition, default: []].append(frame)
                        return headers[key + "/" + frame.rendition] ?? []
                    }
                    try await sessions.recordHeaders(id, rendition: frame.rendition, sessionID: frame.sessionID, headers: all)
                    guard configurationsOnBus else { continue }
                }
                let topic: Topic = frame.rendition.isEmpty ? .mediaSource : .mediaRenditions
                try bus.publish(BusRecord(key: key, value: .frame(frame)), to: topic)
                let offset = offsets.withLockedValue { offsets in
                    defer { offsets[topic, default: 0] += 1 }
                    return offsets[topic, default: 0]
                }
                guard let start = SegmentStart(frame, key: key, topic: topic, offset: offset) else { continue }
                starts.append(offset)
                if recorded { try await sessions.recordSegmentStart(id, rendition: start.rendition, sessionID: start.session, offset: offset) }
            }
            return starts
        }

    }

    func makeHub(_ log: Log, _ feed: PackagingFeed) -> PackagerHub {
        PackagerHub(bus: log.bus, feed: .onDemand(feed), channels: nil, logger: Logger(label: "test"))
    }

    /// Returns once the hub reads `stream` (its subscriptions exist), ten seconds at most.
    func reading(_ hub: PackagerHub) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while hub.streams.withLockedValue({ $0.readers[stream]?.task == nil }), ContinuousClock.now < deadline { await Task.yield() }
        try #require(hub.streams.withLockedValue { $0.readers[stream]?.task != nil })
    }

    func text(_ response: PackagedResponse) -> String? {
        guard case .content(let body, _, _, _) = response else { return nil }
        return String(buffer: body)
    }

    @Test func aFirstRequestReadsFromAFewSegmentsBackAndIsAnsweredAtOnce() async throws {
        let log = Log()
        var synthetic = SyntheticStream()
        try await log.publish(synthetic.frames(seconds: 20), key: stream.rawValue)
        var other = SyntheticStream()
        other.sessionID = 7
        try await log.publish(other.frames(seconds: 20), key: "other")
        // What was published so far is past; the live edge is one more second of frames.
        try await Task.sleep(for: .seconds(PackagerHub.liveEdgeSeconds + 0.2))
        try await log.publish(synthetic.frames(seconds: 1, start: 20_000, headers: false), key: stream.rawValue)
        let hub = makeHub(log, log.feed())
        #expect(hub.streamsRead.isEmpty, "nothing is read before a request")

        let started = ContinuousClock.now
        let package = try #require(try await hub.package(opening: stream, rendition: "", eventLoop: loop).get())
        let playlist = try await package.respond(to: .llhlsMedia(.video), request: PlaylistRequest(), eventLoop: loop,
                                                 timeout: .seconds(3)).get()
        let elapsed = ContinuousClock.now - started
        let segments = package.state.withLockedValue { state in
            state.timeline.segments.map { "\($0.mediaSequence) finished \($0.isFinished(.video)) complete \($0.isComplete)" }
        }
        let listed = try #require(text(playlist), "answered before a new segment was published: \(playlist), segments \(segments)")
        #expect(listed.components(separatedBy: "#EXTINF:").count - 1 >= 3, "whole segments from the start: \(listed)")
        #expect(listed.contains("#EXT-X-PART:"), "and the live edge's parts")
        #expect(elapsed < .seconds(3), "answered in \(elapsed), well before the 5 s first-package wait")
        #expect(hub.streamsRead == [stream], "only the stream asked for is read")
        #expect(hub.package(for: StreamID("other")!) == nil)
    }

    @Test func aStreamThatIsNotLiveIsNotFoundAtOnce() async throws {
        let log = Log()
        let hub = makeHub(log, log.feed(firstPackageSeconds: 30))
        let started = ContinuousClock.now
        #expect(try await hub.package(opening: stream, rendition: "", eventLoop: loop).get() == nil)
        #expect(ContinuousClock.now - started < .seconds(5), "not after the first-package wait")
        #expect(hub.streamsRead.isEmpty)
    }

    @Test func aLiveStreamWithNothingPublishedYetIsWaitedForWithinBounds() async throws {
        let log = Log()
        var synthetic = SyntheticStream()
        try await log.goLive(stream.rawValue, session: synthetic.sessionID)
        let hub = makeHub(log, log.feed(firstPackageSeconds: 10))
        let waiting = hub.package(opening: stream, rendition: "", eventLoop: loop)
        // The request starts the read; frames published from now on begin the package.
        try await reading(hub)
        try await log.publish(synthetic.frames(seconds: 1), key: stream.rawValue, configurationsOnBus: true)
        #expect(try await waiting.get() != nil, "the waiting request got its package when it began")

        let other = makeHub(log, log.feed(firstPackageSeconds: 10))
        let started = ContinuousClock.now
        let asked = other.package(opening: stream, rendition: "720p", eventLoop: loop)
        // The stream goes on: reading reaches the live edge (a frame published < 3 s before it is
        // read) even when a loaded machine (CI) took longer than that to get here.
        try await reading(other)
        try await log.publish(synthetic.frames(seconds: 1, start: 1000, headers: false), key: stream.rawValue)
        #expect(try await asked.get() == nil, "a rendition that never comes is not found")
        #expect(ContinuousClock.now - started < .seconds(8),
                "and not waited for (10 s): session state knew no such rendition, and reading has caught up")
    }

    /// A segment start published just before the first request, and recorded only after session
    /// state was asked, is found when the next frame is read: reading starts at it after all.
    @Test func aSegmentStartRecordedJustAfterTheFirstLookIsWhereReadingStarts() async throws {
        let log = Log()
        var synthetic = SyntheticStream()
        let starts = try await log.publish(synthetic.frames(seconds: 3), key: stream.rawValue, recorded: false)
        let hub = makeHub(log, log.feed(firstPackageSeconds: 10))
        let started = ContinuousClock.now
        let waiting = hub.package(opening: stream, rendition: "", eventLoop: loop)
        try await reading(hub)
        let last = try #require(starts.last)
        try await log.sessions.recordSegmentStart(stream, rendition: "", sessionID: synthetic.sessionID, offset: last)
        // Not a segment start: read from now, it alone would begin no package.
        try await log.publish(synthetic.frames(seconds: 0.1, start: 3_000, headers: false).suffix(1), key: stream.rawValue)
        #expect(try await waiting.get() != nil, "read from the recorded segment start")
        #expect(ContinuousClock.now - started < .seconds(5), "answered when the frame came, not at the 10 s wait")
    }

    @Test func readingStopsWhenRequestsStopAndStartsAgainOnTheNext() async throws {
        let log = Log()
        var synthetic = SyntheticStream()
        try await log.publish(synthetic.frames(seconds: 10), key: stream.rawValue)
        let hub = makeHub(log, log.feed(idleSeconds: 30))
        // The request is dated between these two instants; on a loaded machine its answer can take seconds.
        let asked = NIODeadline.now()
        let first = try await hub.package(opening: stream, rendition: "", eventLoop: loop).get()
        #expect(first != nil)
        #expect(!hub.stopIfIdle(stream, idleSeconds: 30, now: asked + .seconds(25)), "asked within the idle period")
        #expect(hub.streamsRead == [stream])
        #expect(hub.stopIfIdle(stream, idleSeconds: 30, now: .now() + .seconds(35)))
        #expect(hub.streamsRead.isEmpty)
        #expect(hub.package(for: stream) == nil, "its packages went with it")

        let again = try await hub.package(opening: stream, rendition: "", eventLoop: loop).get()
        #expect(again != nil && again !== first, "a later request reads the stream afresh")
        #expect(hub.streamsRead == [stream])
    }

    @Test func renditionsAreReadFromTheirOwnSegmentStartsWithTheirHeaders() async throws {
        let log = Log()
        var synthetic = SyntheticStream()
        let frames = synthetic.frames(seconds: 12)
        try await log.publish(frames, key: stream.rawValue)
        try await log.publish(frames.map { frame in
            var copy = frame
            copy.rendition = "360p"
            return copy
        }, key: stream.rawValue)
        let hub = makeHub(log, log.feed())
        // A presentation over the renditions asks for any of them.
        let package = try #require(try await hub.package(opening: stream, rendition: nil, eventLoop: loop).get())
        let playlist = try await package.respond(to: .classicPlaylist, request: PlaylistRequest(), eventLoop: loop,
                                                 timeout: .seconds(3)).get()
        #expect(text(playlist)?.contains("#EXTINF:") == true, "\(playlist)")
        #expect(hub.renditions(of: stream) == ["360p"])
    }
}
