import Events
import Logging
import NIOCore
@testable import Packager
import State
import Testing

/// A channel changed while its stream is read on demand: the renditions its new ladder makes are
/// waited for, not answered at once as missing (the "stream not live" rendition preview).
@Suite struct PackagerHubChannelChangeTests {
    let stream = StreamID("changing")!

    private func hub(ladder: [StreamChannel.Rendition]) -> PackagerHub {
        var channel = StreamChannel(name: "changing")
        channel.transcode.enabled = !ladder.isEmpty
        channel.transcode.renditions = ladder.isEmpty ? [.p360] : ladder
        return PackagerHub(bus: EmbeddedEventBus(), feed: .onDemand(PackagingFeed(sessions: InMemorySessionStore())),
                           channels: OneChannel(channel: channel), logger: Logger(label: "test"))
    }

    @Test func aLadderAddedWhileReadingMakesItsRenditionsExpected() async {
        let hub = hub(ladder: [.p360])
        hub.streams.withLockedValue { streams in
            // Read since before the change, caught up, with no rendition known then.
            streams.readers[stream] = PackagerHub.Reader(generation: 1, lastRequest: .now(), renditions: [])
            streams.caughtUp.insert(PackagerHub.Key(stream: stream, rendition: ""))
        }
        #expect(hub.streams.withLockedValue { $0.lacks(stream, rendition: "360p") }, "before: told at once there is none")
        await hub.channelChanged(stream)
        #expect(!hub.streams.withLockedValue { $0.lacks(stream, rendition: "360p") }, "after: waited for")
        #expect(hub.streams.withLockedValue { $0.lacks(stream, rendition: "720p") }, "a rendition the ladder does not make")
    }

    @Test func aStreamNotReadHereIsLeftAlone() async {
        let hub = hub(ladder: [.p360])
        await hub.channelChanged(stream)
        #expect(hub.streams.withLockedValue { $0.readers[stream] } == nil, "no reading started by a change")
    }
}
