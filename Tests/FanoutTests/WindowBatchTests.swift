import Events
import Logging
import Media
import NIOCore
import NIOEmbedded
import Testing
@testable import Fanout

@Suite struct WindowBatchTests {
    let stream = StreamID("cam1")!

    func frames(_ range: Range<Int>) -> [PreparedFrame] {
        range.map { TestFrames.prepared($0) }
    }

    @Test func aWindowsBytesAreItsFramesEndToEndPerFormat() throws {
        let window = frames(0..<4)
        let batch = WindowBatch(window)
        var flv = try #require(batch.bytes(for: .flv, after: 0))
        var expected = ByteBuffer()
        for frame in window { var tag = frame.flvTag; expected.writeBuffer(&tag) }
        #expect(flv == expected)
        var rtmp = try #require(batch.bytes(for: .rtmp(streamID: 1), after: 0))
        var chunks = ByteBuffer()
        for frame in window { var piece = frame.rtmpChunks; chunks.writeBuffer(&piece) }
        #expect(rtmp == chunks)
        #expect(batch.bytes(for: .rtmp(streamID: 5), after: 0) == nil)  // written frame by frame
        _ = flv.readBytes(length: 1)
        _ = rtmp.readBytes(length: 1)
    }

    @Test func aJoinerMidWindowGetsOnlyWhatItsSnapshotLacked() throws {
        let window = frames(0..<4)  // sequences 1…4
        let batch = WindowBatch(window)
        let tail = try #require(batch.bytes(for: .flv, after: 2))
        #expect(tail.readableBytes == window[2].flvTag.readableBytes + window[3].flvTag.readableBytes)
        #expect(try #require(batch.bytes(for: .flv, after: 4)).readableBytes == 0)
    }

    @Test func oneFrameIsNotCopied() throws {
        let window = frames(0..<1)
        let bytes = try #require(WindowBatch(window).bytes(for: .flv, after: 0))
        let address = { (buffer: ByteBuffer) in buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } }
        #expect(address(bytes) == address(window[0].flvTag))
    }

    /// A viewer in step writes a window in one write; a viewer with a backlog goes frame by frame.
    @Test func aViewerInStepWritesAWindowOnce() throws {
        let hub = FanoutHub(bus: EmbeddedEventBus(), flushPolicy: .immediate, logger: Logger(label: "test"))
        for frame in [TestFrames.videoConfig, TestFrames.video(0)] { hub.handle(frame, of: stream) }
        let fanout = try #require(hub.fanout(for: stream))
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        _ = try #require(fanout.attach(channel: channel, format: .flv) {})
        while try channel.readOutbound(as: ByteBuffer.self) != nil {}
        // The embedded loop runs the delivery task only when told: four frames make one window.
        for index in 1...4 { hub.handle(TestFrames.video(index), of: stream) }
        channel.embeddedEventLoop.run()
        var writes: [ByteBuffer] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { writes.append(buffer) }
        #expect(writes.count == 1)
        var reader = FLVStreamReader()
        reader.feed(FLV.fileHeader(hasAudio: false, hasVideo: true))
        reader.feed(try #require(writes.first))
        var timestamps: [UInt32] = []
        while let tag = try reader.nextTag() { timestamps.append(tag.timestamp) }
        #expect(timestamps == [40, 80, 120, 160])
    }

    final class Sink: FanoutSink, @unchecked Sendable {  // touched only on the embedded loop the test runs
        let eventLoop: any EventLoop
        let protocolName = "srt"
        var frames: [PreparedFrame] = []
        var ended = false

        init(eventLoop: any EventLoop) {
            self.eventLoop = eventLoop
        }

        func deliver(_ frame: PreparedFrame) { frames.append(frame) }
        func streamEnded() { ended = true }
    }

    @Test func aSinkGetsTheSnapshotLiveFramesAndTheEnd() throws {
        let hub = FanoutHub(bus: EmbeddedEventBus(), flushPolicy: .immediate, logger: Logger(label: "test"))
        for frame in [TestFrames.metadata, TestFrames.videoConfig, TestFrames.video(0), TestFrames.video(1)] {
            hub.handle(frame, of: stream)
        }
        let fanout = try #require(hub.fanout(for: stream))
        let loop = EmbeddedEventLoop()
        let sink = Sink(eventLoop: loop)
        let viewer = try #require(fanout.attach(sink: sink))
        #expect(sink.frames.map(\.kind) == [.metadata, .video, .video, .video])
        #expect(fanout.viewersByProtocol == ["srt": 1])
        hub.handle(TestFrames.video(2), of: stream)
        loop.run()
        #expect(sink.frames.last?.dts == 80)
        #expect(sink.frames.count == 5)
        hub.handle(MediaFrame(kind: .end, dts: 120, sessionID: 1, sequence: 3, payload: ByteBuffer()), of: stream)
        loop.run()
        #expect(sink.ended)
        fanout.detach(viewer)
        #expect(fanout.viewerCount == 0)
    }
}
