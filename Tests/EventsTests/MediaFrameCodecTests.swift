import Events
import NIOCore
import Testing

@Suite struct MediaFrameCodecTests {
    static let frame = MediaFrame(kind: .video, flags: [.keyframe], codec: "avc1", dts: 90_000, pts: 90_040,
                                  sessionID: 7, sequence: 3, rendition: "720p",
                                  payload: ByteBuffer(bytes: [0x17, 0x01, 0, 0, 0x28, 0xAA]))

    static let stamped: MediaFrame = {
        var frame = Self.frame
        frame.flags.insert(.segmentStart)
        frame.timeline = MediaTimeline(origin: 1_800_000_000_000, segment: 131_097_600, discontinuity: 327_744_000, epoch: 2,
                                       periodStart: 90_000, periodFirstSegment: 131_097_590)
        return frame
    }()

    @Test func roundTripsAndPinsTheLayout() throws {
        let encoded = MediaFrameCodec.encode(Self.frame)
        #expect(encoded.getBytes(at: 0, length: 6) == [0x53, 0x46, 2, 1, 1, 4])  // "SF", v2, video, keyframe, codec length
        #expect(encoded.readableBytes == 6 + 4 + 1 + 4 + 8 * 4 + 1 + 4 + 6)
        #expect(try MediaFrameCodec.decode(encoded) == Self.frame)
        let withTimeline = MediaFrameCodec.encode(Self.stamped)
        #expect(withTimeline.readableBytes == encoded.readableBytes + 8 + 4 + 4 + 2 + 8 + 4)
        #expect(withTimeline.getInteger(at: 2 + 1 + 1, as: UInt8.self) == 0b101, "keyframe and segment start")
        #expect(try MediaFrameCodec.decode(withTimeline) == Self.stamped)
    }

    @Test func versionOneFramesStillDecodeWithoutATimeline() throws {
        var bytes = Array(MediaFrameCodec.encode(Self.frame).readableBytesView)
        bytes[2] = 1
        bytes.remove(at: 6 + 4 + 1 + 4 + 8 * 4)  // the timeline marker
        #expect(try MediaFrameCodec.decode(ByteBuffer(bytes: bytes)) == Self.frame)
    }

    @Test func aTimelineOutOfRangeIsAnError() {
        var bytes = Array(MediaFrameCodec.encode(Self.stamped).readableBytesView)
        let marker = 6 + 4 + 1 + 4 + 8 * 4
        bytes[marker + 1] = 0x80  // a negative origin
        #expect(throws: EventBusError.self) { try MediaFrameCodec.decode(ByteBuffer(bytes: bytes)) }
        bytes = Array(MediaFrameCodec.encode(Self.stamped).readableBytesView)
        bytes[marker] = 7
        #expect(throws: EventBusError.self) { try MediaFrameCodec.decode(ByteBuffer(bytes: bytes)) }
    }

    @Test func everyTruncationAndBadHeaderIsAnError() {
        let bytes = Array(MediaFrameCodec.encode(Self.stamped).readableBytesView)
        for length in 0..<bytes.count {
            #expect(throws: EventBusError.self) { try MediaFrameCodec.decode(ByteBuffer(bytes: bytes[0..<length])) }
        }
        var wrongVersion = bytes
        wrongVersion[2] = 3
        #expect(throws: EventBusError(.unsupportedVersion, "media frame version")) {
            try MediaFrameCodec.decode(ByteBuffer(bytes: wrongVersion))
        }
        #expect(throws: EventBusError.self) { try MediaFrameCodec.decode(ByteBuffer(bytes: bytes + [0])) }
    }

    @Test func streamIDsAreValidated() {
        #expect(StreamID("98724e64-bcd1-4887-af4a-60be440709aa") != nil)
        #expect(StreamID("cam_1.main") != nil)
        for bad in ["", ".hidden", "a/b", "a?b", "a b", String(repeating: "x", count: 129), "é"] {
            #expect(StreamID(bad) == nil)
        }
    }
}
