import Events
import Foundation
import Media
import NIOCore
import RTMP
import State
import Testing
@testable import Ingest

/// What a hostile publisher sends past the RTMP layer: odd spellings of channel ids, absurd
/// `onMetaData` numbers and runaway timestamps. Uses `IngestPolicyTests`' embedded bus and stores.
extension IngestPolicyTests {
    /// Regression: an upper-case channel id skipped the channel's checks (it was looked up only
    /// when it equalled its lowercase form) and was verified against the global secret instead.
    @Test func upperCaseChannelIDsGetTheChannelsChecks() async throws {
        let policy = try policy(compatibility: true)
        var channel = try await channels.create(StreamChannel(name: "Lobby"), pushSecret: "channel-secret")
        channel.enabled = false
        _ = try await channels.update(channel, ifRevision: nil)
        let upper = channel.streamName.uppercased()
        #expect(upper != channel.streamName)
        // Signed with the global secret: a disabled channel refuses it whatever the spelling.
        #expect(code(await policy.authorizePublish(request(upper, sign: validSign(upper)), connection: connection))
            == "NetStream.Publish.Unauthorized")
        #expect(code(await policy.authorizePublish(request(upper, sign: validSign(channel.streamName)), connection: connection))
            == "NetStream.Publish.Unauthorized")

        channel.enabled = true
        _ = try await channels.update(channel, ifRevision: nil)
        // The signature covers the canonical path, and the session is the channel's own.
        #expect(code(await policy.authorizePublish(request(upper, sign: validSign(upper, secret: "channel-secret")),
                                                   connection: connection)) == "NetStream.Publish.Unauthorized")
        guard case .accept(let sink) = await policy.authorizePublish(
            request(upper, sign: validSign(channel.streamName, secret: "channel-secret")), connection: connection) else {
            Issue.record("the channel's own signature was refused")
            return
        }
        #expect(try await sessions.session(StreamID(channel.streamName)!)?.streamID.rawValue == channel.streamName)
        sink.ended(.unpublished)
        await bus.shutdown()
    }

    /// Regression: `Int(width)` on a NaN or 1e300 `onMetaData` width trapped the event loop.
    @Test func hostileMetadataNumbersAreIgnored() async throws {
        let policy = try policy()
        let media = bus.subscribe(to: .mediaSource, from: .end)
        guard case .accept(let sink) = await policy.authorizePublish(request("cam-meta", sign: validSign("cam-meta")),
                                                                      connection: connection) else {
            Issue.record("publish refused")
            return
        }
        for number in [Double.nan, .infinity, -.infinity, 1e300, -1e300, 9.3e18, -1] {
            var body = ByteBuffer()
            body.writeAMF0(.string("onMetaData"))
            body.writeAMF0(.ecmaArray([AMF0Property("width", .number(number)), AMF0Property("height", .number(number)),
                                       AMF0Property("framerate", .number(number))]))
            sink.received(RTMPMessage(type: .dataAMF0, streamID: 1, timestamp: 0, chunkStreamID: 5, payload: body))
        }
        sink.ended(.unpublished)
        var frames = media.makeAsyncIterator()
        var kinds: [MediaFrame.Kind] = []
        while kinds.last != .end, case .frame(let frame)? = try await frames.next()?.record.value { kinds.append(frame.kind) }
        #expect(kinds == Array(repeating: .metadata, count: 7) + [.end])
        await bus.shutdown()
    }

    /// Each message can push RTMP time forward by up to 2³¹ ms; the unwrapped time line stays
    /// inside `MediaFrame.timeRange`, refusing (nil) what would leave it, and recovers after.
    @Test func runawayTimestampsStayInRange() {
        var unwrapper = TimestampUnwrapper()
        var timestamp: UInt32 = 0
        var refused = 0
        var newest: Int64 = 0
        for _ in 0..<1100 {
            timestamp &+= 0x7FFF_FFFF
            if let time = unwrapper.unwrap(timestamp) {
                #expect(MediaFrame.timeRange.contains(time))
                newest = max(newest, time)
            } else {
                refused += 1
            }
        }
        #expect(refused > 0)
        #expect(newest > MediaFrame.timeRange.upperBound - (1 << 31))
        // A publisher that comes back to sane, slowly advancing times is followed again.
        let base = UInt32(truncatingIfNeeded: newest)
        #expect(unwrapper.unwrap(base &+ 40) == newest + 40)
    }
}
