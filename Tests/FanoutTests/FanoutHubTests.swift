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
