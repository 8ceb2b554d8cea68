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
