import Events
import NIOCore
import Testing
@testable import Fanout

/// Frames for fan-out tests: 25 fps video with a keyframe every `gop` frames.
enum TestFrames {
    static func video(_ index: Int, gop: Int = 25, session: UInt64 = 1) -> MediaFrame {
        let key = index % gop == 0
        return MediaFrame(kind: .video, flags: key ? [.keyframe] : [], codec: "avc1", dts: Int64(index) * 40,
                          sessionID: session, sequence: UInt64(index),
                          payload: ByteBuffer(bytes: [key ? 0x17 : 0x27, 1, 0, 0, 0, UInt8(truncatingIfNeeded: index)]))
    }

    static func prepared(_ index: Int, gop: Int = 25) -> PreparedFrame {
        let frame = video(index, gop: gop)
        return PreparedFrame(frame, sequence: UInt64(index) + 1, isRandomAccess: frame.isKeyframe)
    }

    static let videoConfig = MediaFrame(kind: .video, flags: [.keyframe, .sequenceHeader], codec: "avc1", dts: 0,
                                        sessionID: 1, sequence: 0, payload: ByteBuffer(bytes: [0x17, 0, 0, 0, 0, 1]))
    static let audioConfig = MediaFrame(kind: .audio, flags: [.sequenceHeader], codec: "aac", dts: 0,
                                        sessionID: 1, sequence: 0, payload: ByteBuffer(bytes: [0xAF, 0, 0x12, 0x10]))
    static let metadata = MediaFrame(kind: .metadata, dts: 0, sessionID: 1, sequence: 0,
                                     payload: ByteBuffer(bytes: [0x02, 0, 1, 0x61, 0x05]))
}

@Suite struct ViewerQueueTests {
    @Test func backlogBeyondTheBoundDropsWholeGOPs() {
        var queue = ViewerQueue(maxDuration: 1500)
        for index in 0..<60 { queue.push(TestFrames.prepared(index)) }  // 2.4 s, GOPs at 0, 1.0 s, 2.0 s
        #expect(queue.droppedGOPs >= 1)
        let first = queue.pop()
        #expect(first?.isRandomAccess == true)
        #expect(queue.frames.count < 60)
        let newest = queue.frames.last?.dts
        #expect(newest == Int64(59 * 40))
    }

    @Test func withoutAKeyframeInReachItWaitsForTheNextOne() {
        var queue = ViewerQueue(maxDuration: 500)
        for index in 1..<20 { queue.push(TestFrames.prepared(index, gop: 100)) }  // no keyframe at all
        #expect(queue.waitingForRandomAccess)
        queue.push(TestFrames.prepared(20, gop: 100))  // still not a keyframe: dropped
        #expect(queue.isEmpty)
        queue.push(TestFrames.prepared(100, gop: 100))
        #expect(!queue.waitingForRandomAccess)
        let next = queue.pop()
        #expect(next?.dts == Int64(100 * 40))
    }

    @Test func configurationFramesSurviveDrops() {
        var queue = ViewerQueue(maxDuration: 200)
        queue.push(PreparedFrame(TestFrames.videoConfig, sequence: 1, isRandomAccess: false))
        for index in 1..<30 { queue.push(TestFrames.prepared(index, gop: 100)) }
        #expect(queue.frames.first?.isConfiguration == true)
        #expect(queue.droppedFrames > 0)
    }

    @Test func aQueueWithinTheBoundKeepsEverything() {
        var queue = ViewerQueue(maxDuration: 2000)
        for index in 0..<40 { queue.push(TestFrames.prepared(index)) }
        #expect(queue.frames.count == 40)
        #expect(queue.droppedGOPs == 0)
    }
}

/// A publisher whose timestamps stand still: the queue's duration bound never trips, so bytes
/// and frames bound it.
@Suite struct ViewerQueueFrozenClockTests {
    static func frozen(_ index: Int, gop: Int = 25, size: Int = 2048, configuration: Bool = false) -> PreparedFrame {
        let key = index % gop == 0
        let flags: MediaFrame.Flags = configuration ? [.keyframe, .sequenceHeader] : (key ? [.keyframe] : [])
        let frame = MediaFrame(kind: .video, flags: flags, codec: "avc1", dts: 1000, sessionID: 1, sequence: UInt64(index),
                               payload: ByteBuffer(bytes: [key ? 0x17 : 0x27, configuration ? 0 : 1, 0, 0, 0] + Array(repeating: 7, count: size)))
        return PreparedFrame(frame, sequence: UInt64(index) + 1, isRandomAccess: key && !configuration)
    }

    @Test func frozenTimestampsAreBoundedByBytes() {
        var queue = ViewerQueue(maxDuration: 2000)
        for index in 0..<10_000 { queue.push(Self.frozen(index)) }
        let bytes = queue.frames.reduce(0) { $0 + $1.flvTag.readableBytes }
        #expect(queue.droppedGOPs > 0)
        #expect(bytes <= 8 << 20, "\(bytes) bytes queued")
        #expect(queue.frames.first?.isRandomAccess == true)
    }

    @Test func floodsOfTinyFramesAreBoundedByCount() {
        var queue = ViewerQueue(maxDuration: 2000)
        for index in 0..<20_000 { queue.push(Self.frozen(index, gop: 5000, size: 1)) }
        #expect(queue.droppedGOPs > 0)
        #expect(queue.frames.count <= 4096, "\(queue.frames.count) frames queued")
    }

    @Test func repeatedSequenceHeadersDoNotPileUp() {
        var queue = ViewerQueue(maxDuration: 2000)
        for index in 0..<20_000 { queue.push(Self.frozen(index, size: 64, configuration: index % 2 == 0)) }
        #expect(queue.frames.count <= 4096, "\(queue.frames.count) frames queued")
        #expect(queue.frames.contains { $0.isConfiguration })
    }
}
