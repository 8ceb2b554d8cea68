import Events
import Logging
import Media
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing
@testable import Fanout

@Suite struct StreamFanoutTests {
    let stream = StreamID("cam1")!

    func makeHub() -> FanoutHub {
        FanoutHub(bus: EmbeddedEventBus(), logger: Logger(label: "test"))
    }

    func publishStart(_ hub: FanoutHub, frames: Int) {
        for frame in [TestFrames.metadata, TestFrames.videoConfig, TestFrames.audioConfig] { hub.handle(frame, of: stream) }
        for index in 0..<frames { hub.handle(TestFrames.video(index), of: stream) }
    }

    /// An active embedded channel, as a connected viewer's would be.
    func connectedChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        return channel
    }

    /// Reads what a viewer's channel was sent, as a player would, across calls.
    final class Player {
        let channel: EmbeddedChannel
        private var reader = FLVStreamReader()

        init(_ channel: EmbeddedChannel) {
            self.channel = channel
        }

        func tags() throws -> [FLVReadTag] {
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(50))
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) { reader.feed(buffer) }
            var tags: [FLVReadTag] = []
            while let tag = try reader.nextTag() { tags.append(tag) }
            return tags
        }
    }

    @Test func aJoiningViewerGetsHeadersAndTheLastGOPThenLiveFrames() throws {
        let hub = makeHub()
        publishStart(hub, frames: 30)  // keyframes at 0 and 25: the cache holds 25…29
        let fanout = try #require(hub.fanout(for: stream))
        let player = Player(try connectedChannel())
        let viewer = try #require(fanout.attach(channel: player.channel, format: .flv) {})
        let joined = try player.tags()
        try #require(joined.map(\.type) == [.script, .video, .audio] + Array(repeating: .video, count: 5))
        #expect(joined[1].timestamp == 25 * 40)  // the sequence header is dated at the GOP's start
        #expect(joined[3...].map(\.timestamp) == (25..<30).map { UInt32($0 * 40) })

        hub.handle(TestFrames.video(30), of: stream)
        #expect(try player.tags().map(\.timestamp) == [1200])
        fanout.detach(viewer)
        hub.handle(TestFrames.video(31), of: stream)
        #expect(try player.tags().isEmpty)
    }

    @Test func framesAreSerializedOnceAndSharedByViewers() throws {
        let hub = makeHub()
        publishStart(hub, frames: 1)
        let fanout = try #require(hub.fanout(for: stream))
        let channels = [try connectedChannel(), try connectedChannel()]
        for channel in channels { _ = fanout.attach(channel: channel, format: .flv) {} }
        for channel in channels { _ = try Player(channel).tags() }
        hub.handle(TestFrames.video(1), of: stream)
        channels[0].embeddedEventLoop.advanceTime(by: .milliseconds(50))
        channels[1].embeddedEventLoop.advanceTime(by: .milliseconds(50))
        let addresses = try channels.map { channel in
            try #require(try channel.readOutbound(as: ByteBuffer.self)).withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        }
        #expect(addresses[0] == addresses[1])
    }

    @Test func aStalledViewerDropsGOPsAndOthersAreUnaffected() throws {
        let hub = makeHub()
        publishStart(hub, frames: 1)
        let fanout = try #require(hub.fanout(for: stream))
        let stalled = Player(try connectedChannel())
        let healthy = Player(try connectedChannel())
        let slow = try #require(fanout.attach(channel: stalled.channel, format: .flv) {})
        _ = fanout.attach(channel: healthy.channel, format: .flv) {}
        _ = try stalled.tags()
        _ = try healthy.tags()
        stalled.channel.isWritable = false
        for index in 1..<200 { hub.handle(TestFrames.video(index), of: stream) }  // 8 s of media
        #expect(try healthy.tags().count == 199)
        #expect(try stalled.tags().isEmpty)
        #expect(hub.droppedGOPs > 0)
        #expect(fanout.droppedFrames > 0 && fanout.droppedFrames == hub.droppedFrames, "the stream's own count adds to the hub's")
        stalled.channel.isWritable = true
        slow.writabilityChanged(isWritable: true)
        let resumed = try stalled.tags()
        #expect(resumed.count <= 75)  // at most the bound (2 s) plus one GOP
        let first = try VideoTagInfo(body: try #require(resumed.first).body)
        #expect(first.isKeyframe)
    }

    /// With a 4 s GOP a joining viewer starts 4 s behind; that must not count as falling behind.
    @Test func aJoiningViewerKeepsALongCachedGOP() throws {
        let hub = makeHub()
        for frame in [TestFrames.metadata, TestFrames.videoConfig] { hub.handle(frame, of: stream) }
        for index in 0..<100 { hub.handle(TestFrames.video(index, gop: 200), of: stream) }
        let fanout = try #require(hub.fanout(for: stream))
        let player = Player(try connectedChannel())
        player.channel.isWritable = false
        let viewer = try #require(fanout.attach(channel: player.channel, format: .flv) {})
        for index in 100..<110 { hub.handle(TestFrames.video(index, gop: 200), of: stream) }
        _ = try player.tags()
        player.channel.isWritable = true
        viewer.writabilityChanged(isWritable: true)
        let video = try player.tags().filter { $0.type == .video }
        #expect(video.count == 1 + 110)  // the sequence header, then every frame from the keyframe on
        #expect(hub.droppedGOPs == 0)
    }

    @Test func theEndOfAStreamReachesItsViewersAndANewSessionReplacesIt() throws {
        let hub = makeHub()
        publishStart(hub, frames: 3)
        let ended = NIOLockedValueBox(0)
        let channel = try connectedChannel()
        _ = try #require(hub.fanout(for: stream)).attach(channel: channel, format: .rtmp(streamID: 1)) {
            ended.withLockedValue { $0 += 1 }
        }
        channel.embeddedEventLoop.run()
        hub.handle(TestFrames.video(0, session: 2), of: stream)
        channel.embeddedEventLoop.run()
        #expect(ended.withLockedValue { $0 } == 1)
        #expect(hub.fanout(for: stream)?.sessionID == 2)
        hub.handle(MediaFrame(kind: .end, dts: 0, sessionID: 2, sequence: 1, payload: ByteBuffer()), of: stream)
        #expect(hub.fanout(for: stream) == nil)
    }

    /// Frozen timestamps: media duration never grows, so the GOP cache and a stalled viewer's
    /// backlog are bounded by frames and bytes instead.
    @Test func frozenTimestampsKeepTheCacheAndAStalledViewerBounded() throws {
        let hub = makeHub()
        for frame in [TestFrames.metadata, TestFrames.videoConfig, TestFrames.audioConfig] { hub.handle(frame, of: stream) }
        hub.handle(TestFrames.video(0), of: stream)
        let fanout = try #require(hub.fanout(for: stream))
        let stalled = Player(try connectedChannel())
        let slow = try #require(fanout.attach(channel: stalled.channel, format: .flv) {})
        _ = try stalled.tags()
        stalled.channel.isWritable = false
        for index in 1...10_000 {
            var frame = TestFrames.video(index, gop: 1_000_000)
            frame.dts = 0
            frame.pts = 0
            hub.handle(frame, of: stream)
        }
        _ = try stalled.tags()
        let joining = Player(try connectedChannel())
        _ = fanout.attach(channel: joining.channel, format: .flv) {}
        let joined = try joining.tags()
        #expect(joined.count <= 3 + 4096, "a joining viewer was sent \(joined.count) tags")
        stalled.channel.isWritable = true
        slow.writabilityChanged(isWritable: true)
        let resumed = try stalled.tags()
        #expect(resumed.count <= 4096, "a stalled viewer had \(resumed.count) frames queued")
        #expect(hub.droppedGOPs > 0)
    }

    /// RTMP's 32-bit wrap, negative composition offsets and timestamps anywhere in Int64: every
    /// frame still reaches viewers, and nothing traps.
    @Test func hostileTimestampsReachViewersWithoutATrap() throws {
        let hub = makeHub()
        for frame in [TestFrames.metadata, TestFrames.videoConfig, TestFrames.audioConfig] { hub.handle(frame, of: stream) }
        let fanout = try #require(hub.fanout(for: stream))
        let watching = Player(try connectedChannel())
        _ = try #require(fanout.attach(channel: watching.channel, format: .flv) {})
        let stalled = Player(try connectedChannel())
        _ = try #require(fanout.attach(channel: stalled.channel, format: .rtmp(streamID: 1)) {})
        _ = try watching.tags()
        stalled.channel.isWritable = false
        let times: [(dts: Int64, pts: Int64)] = [(4_294_967_200, 4_294_967_200), (4_294_967_296 + 40, 4_294_967_296 + 20),
                                                 (.max, .min), (.min, .max), (-1, -5_000), (.max, .max), (0, .min), (1 << 40, 0)]
        for (index, time) in times.enumerated() {
            var frame = TestFrames.video(index, gop: 2)
            frame.dts = time.dts
            frame.pts = time.pts
            hub.handle(frame, of: stream)
        }
        #expect(try watching.tags().count == times.count)
        #expect((fanout.keyframeIntervalSeconds ?? 0) >= 0)
        let joining = Player(try connectedChannel())
        _ = fanout.attach(channel: joining.channel, format: .flv) {}
        #expect(try joining.tags().count >= 3)
    }
}
