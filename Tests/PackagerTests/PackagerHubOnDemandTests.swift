import Events
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
@testable import Packager
import Testing

/// Packaging on demand over the embedded bus, without sockets: a first request starts a keyed
/// read a few segments back and is answered once the packager caught up; a stream that is not
/// live is not found at once; a live one not packaged yet is waited for; reading stops when
/// requests stop.
@Suite(.timeLimit(.minutes(1))) struct PackagerHubOnDemandTests {
    let stream = StreamID("cam")!
    let loop = MultiThreadedEventLoopGroup.singleton.next()

    /// An embedded bus that records segment starts as session state would, and the feed over it.
    final class Log: Sendable {
        let starts: NIOLockedValueBox<[String: [Int64]]>
        /// By stream.
        let headers = NIOLockedValueBox<[String: [MediaFrame]]>([:])
        let live = NIOLockedValueBox(true)
        let lookups = NIOLockedValueBox(0)
        let bus: EmbeddedEventBus

        init() {
            let starts = NIOLockedValueBox<[String: [Int64]]>([:])
            self.starts = starts
            bus = EmbeddedEventBus(segmentStartAcknowledged: { start in
                let name = start.stream + "/" + start.rendition
                starts.withLockedValue { $0[name] = Array(($0[name, default: []] + [start.offset]).suffix(4)) }
            })
        }

        func feed(idleSeconds: Double = 30, firstPackageSeconds: Double = 5) -> PackagingFeed {
            PackagingFeed(idleSeconds: idleSeconds, firstPackageSeconds: firstPackageSeconds) { [self] stream in
                lookups.withLockedValue { $0 += 1 }
                guard live.withLockedValue({ $0 }) else { return nil }
                let prefix = stream.rawValue + "/"
                let starts = starts.withLockedValue { $0 }.filter { $0.key.hasPrefix(prefix) }
                return .init(headers: headers.withLockedValue { $0[stream.rawValue] ?? [] }, sourceOffset: starts[prefix]?.first,
                             renditionsOffset: starts.filter { $0.key != prefix }.values.compactMap(\.first).min())
            }
        }

        /// Writers' segment cutters, by key and rendition.
        private let cutters = NIOLockedValueBox<[String: SegmentCutter]>([:])

        /// Publishes `frames` as ingest (or a transcoder) does: stamped with their segments;
        /// configurations go to session state only (readers joining late get them from there).
        func publish(_ frames: [MediaFrame], key: String, configurationsOnBus: Bool = false) throws {
            for var frame in frames {
                cutters.withLockedValue { cutters in
                    var cutter = cutters[key + "/" + frame.rendition] ?? SegmentCutter(rules: .init())
                    cutter.stamp(&frame, arrivedAt: Date(timeIntervalSince1970: 1_800_000_000 + Double(frame.dts) / 1000))
                    cutters[key + "/" + frame.rendition] = cutter
                }
                if frame.isConfiguration {
                    headers.withLockedValue { $0[key, default: []].append(frame) }
                    guard configurationsOnBus else { continue }
                }
                try bus.publish(BusRecord(key: key, value: .frame(frame)), to: frame.rendition.isEmpty ? .mediaSource : .mediaRenditions)
            }
        }
    }

    func makeHub(_ log: Log, _ feed: PackagingFeed) -> PackagerHub {
        PackagerHub(bus: log.bus, feed: .onDemand(feed), logger: Logger(label: "test")) { _ in PackagingConfiguration() }
    }

    func text(_ response: PackagedResponse) -> String? {
        guard case .content(let body, _, _, _) = response else { return nil }
        return String(buffer: body)
    }

    @Test func aFirstRequestReadsFromAFewSegmentsBackAndIsAnsweredAtOnce() async throws {
        let log = Log()
        var synthetic = SyntheticStream()
        try log.publish(synthetic.frames(seconds: 20), key: stream.rawValue)
        var other = SyntheticStream()
        other.sessionID = 7
        try log.publish(other.frames(seconds: 20), key: "other")
        // What was published so far is past; the live edge is one more second of frames.
        try await Task.sleep(for: .seconds(PackagerHub.liveEdgeSeconds + 0.2))
        try log.publish(synthetic.frames(seconds: 1, start: 20_000, headers: false), key: stream.rawValue)
        let hub = makeHub(log, log.feed())
        #expect(hub.streamsRead.isEmpty, "nothing is read before a request")
        #expect(log.starts.withLockedValue { $0["cam/"]?.count } == 4, "the newest four segment starts are kept")

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
        log.live.withLockedValue { $0 = false }
        let hub = makeHub(log, log.feed(firstPackageSeconds: 30))
        let started = ContinuousClock.now
        #expect(try await hub.package(opening: stream, rendition: "", eventLoop: loop).get() == nil)
        #expect(ContinuousClock.now - started < .seconds(5), "not after the first-package wait")
        #expect(hub.streamsRead.isEmpty)
    }

    @Test func aLiveStreamWithNothingPublishedYetIsWaitedForWithinBounds() async throws {
        let log = Log()
        let hub = makeHub(log, log.feed(firstPackageSeconds: 10))
        let waiting = hub.package(opening: stream, rendition: "", eventLoop: loop)
        // The request starts the read; frames published from now on begin the package.
        while hub.streamsRead.isEmpty || log.lookups.withLockedValue({ $0 }) == 0 { await Task.yield() }
        var synthetic = SyntheticStream()
        try log.publish(synthetic.frames(seconds: 1), key: stream.rawValue, configurationsOnBus: true)
        #expect(try await waiting.get() != nil, "the waiting request got its package when it began")

        let other = makeHub(log, log.feed(firstPackageSeconds: 10))
        let started = ContinuousClock.now
        #expect(try await other.package(opening: stream, rendition: "720p", eventLoop: loop).get() == nil,
                "a rendition that never comes is not found")
        #expect(ContinuousClock.now - started < .seconds(5),
                "and not waited for (10 s): session state knew no such rendition, and reading has caught up")
    }

    @Test func readingStopsWhenRequestsStopAndStartsAgainOnTheNext() async throws {
        let log = Log()
        var synthetic = SyntheticStream()
        try log.publish(synthetic.frames(seconds: 10), key: stream.rawValue)
        let hub = makeHub(log, log.feed(idleSeconds: 30))
        let first = try await hub.package(opening: stream, rendition: "", eventLoop: loop).get()
        #expect(first != nil)
        // (Margins of seconds: the request's time and this test's `.now()` lie apart on a busy machine.)
        #expect(!hub.stopIfIdle(stream, idleSeconds: 30, now: .now() + .seconds(25)), "asked within the idle period")
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
        try log.publish(frames, key: stream.rawValue)
        try log.publish(frames.map { frame in
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
