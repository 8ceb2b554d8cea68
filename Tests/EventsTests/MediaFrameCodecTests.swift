import Events
import NIOCore
import Testing

@Suite struct MediaFrameCodecTests {
    static let frame = MediaFrame(kind: .video, flags: [.keyframe], codec: "avc1", dts: 90_000, pts: 90_040,
                                  sessionID: 7, sequence: 3, rendition: "720p",
                                  payload: ByteBuffer(bytes: [0x17, 0x01, 0, 0, 0x28, 0xAA]))

    @Test func roundTripsAndPinsTheLayout() throws {
        let encoded = MediaFrameCodec.encode(Self.frame)
        #expect(encoded.getBytes(at: 0, length: 6) == [0x53, 0x46, 1, 1, 1, 4])  // "SF", v1, video, keyframe, codec length
        #expect(encoded.readableBytes == 6 + 4 + 1 + 4 + 8 * 4 + 4 + 6)
        #expect(try MediaFrameCodec.decode(encoded) == Self.frame)
    }

    @Test func everyTruncationAndBadHeaderIsAnError() {
        let bytes = Array(MediaFrameCodec.encode(Self.frame).readableBytesView)
        for length in 0..<bytes.count {
            #expect(throws: EventBusError.self) { try MediaFrameCodec.decode(ByteBuffer(bytes: bytes[0..<length])) }
        }
        var wrongVersion = bytes
        wrongVersion[2] = 2
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
