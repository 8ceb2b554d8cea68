import Foundation
import NIOCore
import Testing
@testable import Events

/// `StreamID` is the one place stream ids are canonicalised: a channel's UUID in any case is the
/// same stream, so no lookup (access policy, packaging, relays, recording) can see two spellings.
@Suite struct StreamIDCanonicalTests {
    static let lower = "98724e64-bcd1-4887-af4a-60be440709aa"

    /// Regression: an upper-case channel id skipped the channel's checks while its relays ran.
    @Test(arguments: [
        (lower.uppercased(), lower),
        ("98724E64-bcd1-4887-AF4A-60be440709Aa", lower),
        (lower, lower),
        ("Cam1", "Cam1"),  // not a UUID: case is kept, Cam1 and cam1 are different streams
        ("98724E64BCD14887AF4A60BE440709AA", "98724E64BCD14887AF4A60BE440709AA"),  // no hyphens: no UUID
        ("98724E64-BCD1-4887-AF4A-60BE440709AA0", "98724E64-BCD1-4887-AF4A-60BE440709AA0"),
        ("98724E64-BCD1-4887-AF4A-60BE440709AG", "98724E64-BCD1-4887-AF4A-60BE440709AG"),
    ])
    func uuidsBecomeLowercase(raw: String, canonical: String) throws {
        let id = try #require(StreamID(raw))
        #expect(id.rawValue == canonical)
        #expect(id.description == canonical)
    }

    @Test func spellingsOfOneChannelAreOneStream() throws {
        let upper = try #require(StreamID(Self.lower.uppercased()))
        let lower = try #require(StreamID(Self.lower))
        #expect(upper == lower)
        #expect(Set([upper, lower]).count == 1)
        #expect(upper.channelID == ChannelID(Self.lower))
        #expect(StreamID("cam1")?.channelID == nil)
        let decoded = try JSONDecoder().decode([StreamID].self, from: Data("[\"\(Self.lower.uppercased())\"]".utf8))
        #expect(decoded == [lower])
        #expect(String(decoding: try JSONEncoder().encode(decoded), as: UTF8.self) == "[\"\(Self.lower)\"]")
    }

    /// `ChannelID` and `StreamID` agree: a name is a channel's exactly when its stream id is, and
    /// then the stream id is the channel id's description.
    @Test func channelIDsAgree() {
        let names = [Self.lower, Self.lower.uppercased(), "{\(Self.lower)}", " \(Self.lower)", "cam1",
                     String(Self.lower.dropLast()), Self.lower.replacingOccurrences(of: "-", with: "")]
        for name in names {
            let channel = ChannelID(name)
            let stream = StreamID(name)
            if let channel {
                #expect(stream?.rawValue == channel.description, "\(name)")
                #expect(stream?.channelID == channel)
            } else {
                #expect(stream?.channelID == nil, "\(name)")
                #expect(stream.map { $0.rawValue == name } ?? true, "\(name)")
            }
        }
        let fresh = ChannelID()
        #expect(StreamID(fresh.description)?.channelID == fresh)
    }

    /// Frames carry times inside `MediaFrame.timeRange`; the codec refuses records outside it.
    @Test func frameTimesAreBounded() throws {
        #expect(MediaFrame(tag: .audio, body: ByteBuffer(bytes: [0xAF, 1, 0]), dts: Int64.max, sessionID: 1, sequence: 0) == nil)
        #expect(MediaFrame(tag: .video, body: ByteBuffer(bytes: [0x17, 1, 0x7F, 0xFF, 0xFF]), dts: 1 << 41, sessionID: 1,
                           sequence: 0) == nil)
        #expect(MediaFrame(tag: .video, body: ByteBuffer(bytes: [0x17, 1, 0x7F, 0xFF, 0xFF]), dts: 1 << 40, sessionID: 1,
                           sequence: 0) == nil)  // its pts would be past the end
        let edge = try #require(MediaFrame(tag: .video, body: ByteBuffer(bytes: [0x17, 1, 0x7F, 0xFF, 0xFF]),
                                           dts: (1 << 40) - 0x7F_FFFF, sessionID: 1, sequence: 0))
        #expect(edge.pts == 1 << 40)
        var hostile = MediaFrame(kind: .video, dts: 0, sessionID: 1, sequence: 0, payload: ByteBuffer())
        hostile.pts = Int64.max
        #expect(throws: EventBusError.self) { try MediaFrameCodec.decode(MediaFrameCodec.encode(hostile)) }
        hostile.pts = 40
        #expect(try MediaFrameCodec.decode(MediaFrameCodec.encode(hostile)) == hostile)
    }
}
