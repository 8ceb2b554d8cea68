import Events
import Foundation
import Logging
import NIOCore
import State
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
        var channel = StreamChannel(name: "cam")
        channel.watermark.text.enabled = true
        channel.watermark.text.text = "live"
        let hub = FanoutHub(bus: EmbeddedEventBus(), channels: OneChannel(channel: channel), logger: Logger(label: "test"))
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

    /// Session state with the stream live (session 1) and, with `keyframe`, its newest keyframe.
    private func sessions(live: Bool, keyframe: Int64? = nil) async throws -> InMemorySessionStore {
        let sessions = InMemorySessionStore()
        guard live else { return sessions }
        try await sessions.markLive(StreamSession(streamID: stream, sessionID: 1, node: "ingest", startedAt: Date()))
        if let keyframe { try await sessions.recordKeyframe(stream, sessionID: 1, offset: keyframe) }
        return sessions
    }

    /// No headers recorded: only a frame read from the bus makes the fan-out.
    private func hub(_ bus: EmbeddedEventBus, _ sessions: any SessionStore, firstFrameSeconds: Double) -> FanoutHub {
        FanoutHub(bus: bus, feed: .onDemand(.init(sessions: sessions, firstFrameSeconds: firstFrameSeconds)), logger: Logger(label: "test"))
    }

    private func hub(_ bus: EmbeddedEventBus, live: Bool, firstFrameSeconds: Double) async throws -> FanoutHub {
        hub(bus, try await sessions(live: live, keyframe: 0), firstFrameSeconds: firstFrameSeconds)
    }

    /// Returns once the hub reads the stream (its subscription exists), ten seconds at most.
    private func reading(_ hub: FanoutHub) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while hub.streamsRead.isEmpty, ContinuousClock.now < deadline { await Task.yield() }
        try #require(!hub.streamsRead.isEmpty)
    }

    private func publish(_ frame: MediaFrame, _ bus: EmbeddedEventBus) throws {
        try bus.publish(BusRecord(key: stream.rawValue, value: .frame(frame)), to: .mediaSource)
    }

    /// A stream whose first keyframe is not recorded yet is read from now, from the first keyframe
    /// read: the frames before it are passed over, and no poll of session state waits for it.
    @Test func aStreamThatHasJustBegunIsReadFromItsFirstKeyframe() async throws {
        let bus = EmbeddedEventBus()
        let hub = hub(bus, try await sessions(live: true), firstFrameSeconds: 10)
        let waiting = Task { await hub.fanout(opening: stream) }
        try await reading(hub)
        try publish(TestFrames.video(1), bus)  // mid-GOP: passed over
        try publish(TestFrames.video(2), bus)
        let published = ContinuousClock.now
        try publish(TestFrames.video(25), bus)
        let fanout = await waiting.value
        #expect(fanout != nil && fanout === hub.fanout(for: stream))
        #expect(ContinuousClock.now - published < .seconds(30), "answered at the keyframe, not at the deadline")
        #expect(fanout?.gopFrameCount == 1, "the GOP begins at the keyframe: \(fanout?.gopFrameCount ?? -1)")
        await bus.shutdown()
    }

    /// A read begun mid-GOP passes configurations on at once and media from the first keyframe.
    @Test func theKeyframeGateOpensAtTheFirstKeyframe() {
        var gate = FanoutHub.KeyframeGate()
        let audio = MediaFrame(kind: .audio, codec: "mp4a", dts: 0, sessionID: 1, sequence: 0, payload: ByteBuffer(bytes: [0xAF, 1]))
        let passed = [TestFrames.videoConfig, TestFrames.video(1), audio, TestFrames.video(25), TestFrames.video(26), audio].map {
            gate.passes($0)
        }
        #expect(passed == [true, false, false, true, true, true])
    }

    /// A keyframe published just before the first viewer came, and recorded only after session
    /// state was asked, is found when the next frame is read: reading starts at it after all.
    @Test func aKeyframeRecordedJustAfterTheFirstLookIsWhereReadingStarts() async throws {
        let bus = EmbeddedEventBus()
        let sessions = try await sessions(live: true)
        let hub = hub(bus, sessions, firstFrameSeconds: 10)
        try publish(TestFrames.video(0), bus)  // offset 0, not recorded yet
        let waiting = Task { await hub.fanout(opening: stream) }
        try await reading(hub)
        try await sessions.recordKeyframe(stream, sessionID: 1, offset: 0)
        try publish(TestFrames.video(1), bus)  // the signal to look again
        let fanout = await waiting.value
        #expect(fanout != nil, "read from the recorded keyframe; from now, the frame after it alone makes nothing")
        await bus.shutdown()
    }

    @Test func theFirstViewerIsAnsweredWhenTheFirstFrameArrives() async throws {
        let bus = EmbeddedEventBus()
        let hub = try await hub(bus, live: true, firstFrameSeconds: 60)
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
        let hub = try await hub(bus, live: true, firstFrameSeconds: 0.4)
        let asked = ContinuousClock.now
        let fanout = await hub.fanout(opening: stream)
        let waited = ContinuousClock.now - asked
        #expect(fanout == nil)
        #expect(waited >= .milliseconds(350) && waited < .seconds(30), "told at the deadline: \(waited)")
        let notLive = try await self.hub(bus, live: false, firstFrameSeconds: 5)
        #expect(await notLive.fanout(opening: stream) == nil, "not live: told at once")
        await bus.shutdown()
    }

    @Test func aCancelledViewerStopsWaiting() async throws {
        let bus = EmbeddedEventBus()
        let hub = try await hub(bus, live: true, firstFrameSeconds: 120)
        let asked = ContinuousClock.now
        let waiting = Task { await hub.fanout(opening: stream) }
        try await Task.sleep(for: .milliseconds(100))
        waiting.cancel()
        #expect(await waiting.value == nil)
        #expect(ContinuousClock.now - asked < .seconds(60), "cancelled, not at the 120 s deadline")
        await bus.shutdown()
    }
}

/// Every stream's channel is `channel`, with `image` its uploaded watermark image.
struct OneChannel: ChannelDirectory {
    var channel: StreamChannel
    var image: [UInt8]?

    func channel(of stream: StreamID) async throws -> StreamChannel? { channel }
    func watermarkImageBytes(of stream: StreamID) async throws -> [UInt8]? { image }
}
