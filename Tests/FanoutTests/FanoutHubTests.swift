import Events
import Logging
import NIOCore
import Testing
@testable import Fanout

@Suite(.timeLimit(.minutes(1)))
struct FanoutHubTests {
    /// The hub reads the bus from the moment it is made, even if `run()` starts later.
    @Test func framesPublishedBeforeRunStartsAreNotMissed() async throws {
        let bus = EmbeddedEventBus()
        let hub = FanoutHub(bus: bus, logger: Logger(label: "test"))
        let stream = StreamID("cam1")!
        for frame in [TestFrames.videoConfig, TestFrames.video(0)] {
            try bus.publish(BusRecord(key: stream.rawValue, value: .frame(frame)), to: .mediaSource)
        }
        let running = Task { try await hub.run() }
        try bus.publish(BusRecord(key: stream.rawValue, value: .frame(TestFrames.video(1))), to: .mediaSource)
        let deadline = ContinuousClock.now + .seconds(5)
        while hub.fanout(for: stream) == nil, ContinuousClock.now < deadline { await Task.yield() }
        #expect(hub.liveStreams == [stream])
        try bus.publish(BusRecord(key: stream.rawValue, value: .frame(
            MediaFrame(kind: .end, dts: 0, sessionID: 1, sequence: 2, payload: ByteBuffer()))), to: .mediaSource)
        while hub.fanout(for: stream) != nil, ContinuousClock.now < deadline { await Task.yield() }
        #expect(hub.liveStreams.isEmpty)
        await bus.shutdown()
        try await running.value
    }
}

@Suite struct FanoutHubRenditionTests {
    let stream = StreamID("cam1")!

    private func renamed(_ frame: MediaFrame, _ rendition: String) -> MediaFrame {
        var copy = frame
        copy.rendition = rendition
        return copy
    }

    @Test func everyRenditionHasItsOwnFanout() async {
        let hub = FanoutHub(bus: EmbeddedEventBus(), logger: Logger(label: "test"))
        for frame in [TestFrames.videoConfig, TestFrames.video(0)] {
            await hub.route(frame, of: stream)
            await hub.route(renamed(frame, "360p"), of: stream)
        }
        #expect(hub.fanout(for: stream) != nil)
        #expect(hub.fanout(for: stream, rendition: "360p") != nil)
        #expect(hub.renditions(of: stream) == ["360p"])
        #expect(hub.liveStreams == [stream], "renditions are not streams of their own")
        await hub.route(renamed(MediaFrame(kind: .end, dts: 40, sessionID: 1, sequence: 2, payload: ByteBuffer()), "360p"), of: stream)
        #expect(hub.fanout(for: stream, rendition: "360p") == nil)
        #expect(hub.fanout(for: stream) != nil)
    }

    @Test func aRenditionStandingInForTheSourceIsServedAtTheStreamAndTheSourceNever() async {
        let hub = FanoutHub(bus: EmbeddedEventBus(), logger: Logger(label: "test")) { _ in "watermarked" }
        await hub.route(TestFrames.videoConfig, of: stream)
        await hub.route(TestFrames.video(0), of: stream)
        #expect(hub.fanout(for: stream) == nil, "the unmarked source is not served")
        await hub.route(renamed(TestFrames.videoConfig, "watermarked"), of: stream)
        await hub.route(renamed(TestFrames.video(0), "watermarked"), of: stream)
        let fanout = hub.fanout(for: stream)
        #expect(fanout != nil)
        #expect(hub.fanout(for: stream, rendition: "watermarked") == nil)
        // The source's end does not end the stand-in; its own end does.
        await hub.route(MediaFrame(kind: .end, dts: 40, sessionID: 1, sequence: 2, payload: ByteBuffer()), of: stream)
        #expect(hub.fanout(for: stream) != nil)
        await hub.route(renamed(MediaFrame(kind: .end, dts: 40, sessionID: 1, sequence: 2, payload: ByteBuffer()), "watermarked"),
                        of: stream)
        #expect(hub.fanout(for: stream) == nil)
    }
}

/// A cluster's API node reads a stream only once a viewer asks (`.onDemand`): the first viewer
/// is answered when the stream's first frame makes its fan-out, and told "not found" at the
/// deadline when none comes.
@Suite(.timeLimit(.minutes(1)))
struct FanoutHubOnDemandTests {
    let stream = StreamID("cam1")!

    private func hub(_ bus: EmbeddedEventBus, live: Bool, firstFrameSeconds: Double) -> FanoutHub {
        FanoutHub(bus: bus, feed: .onDemand(.init(firstFrameSeconds: firstFrameSeconds) { _ in
            // No headers: only a frame read from the bus makes the fan-out.
            live ? FanoutHub.StreamStart(headers: [], keyframeOffset: 0) : nil
        }), logger: Logger(label: "test"))
    }

    @Test func theFirstViewerIsAnsweredWhenTheFirstFrameArrives() async throws {
        let bus = EmbeddedEventBus()
        let hub = hub(bus, live: true, firstFrameSeconds: 60)
        let waiting = Task { await hub.fanout(opening: stream) }
        try await Task.sleep(for: .milliseconds(300))
        #expect(hub.fanout(for: stream) == nil)
        let published = ContinuousClock.now
        try bus.publish(BusRecord(key: stream.rawValue, value: .frame(TestFrames.video(0))), to: .mediaSource)
        let fanout = await waiting.value
        let waited = ContinuousClock.now - published
        #expect(fanout != nil && fanout === hub.fanout(for: stream))
        #expect(waited < .seconds(30), "answered when the frame came, not at the 60 s deadline: \(waited)")
        await bus.shutdown()
    }

    @Test func aViewerOfAStreamWhoseFramesNeverComeIsToldAtTheDeadline() async throws {
        let bus = EmbeddedEventBus()
        let hub = hub(bus, live: true, firstFrameSeconds: 0.4)
        let asked = ContinuousClock.now
        let fanout = await hub.fanout(opening: stream)
        let waited = ContinuousClock.now - asked
        #expect(fanout == nil)
        #expect(waited >= .milliseconds(350) && waited < .seconds(30), "told at the deadline: \(waited)")
        #expect(await self.hub(bus, live: false, firstFrameSeconds: 5).fanout(opening: stream) == nil, "not live: told at once")
        await bus.shutdown()
    }

    @Test func aCancelledViewerStopsWaiting() async throws {
        let bus = EmbeddedEventBus()
        let hub = hub(bus, live: true, firstFrameSeconds: 120)
        let asked = ContinuousClock.now
        let waiting = Task { await hub.fanout(opening: stream) }
        try await Task.sleep(for: .milliseconds(100))
        waiting.cancel()
        #expect(await waiting.value == nil)
        #expect(ContinuousClock.now - asked < .seconds(60), "cancelled, not at the 120 s deadline")
        await bus.shutdown()
    }
}
