import Events
import Logging
@testable import Packager
import Testing

/// A stream's packaging from its channel (`PackagingConfiguration(channel:sourceRendition:)`)
/// and the hub's read of it as a session begins.
@Suite struct PackagingPolicyTests {
    let stream = StreamID("cam")!

    @Test func aStreamWithoutAChannelIsPackagedOnTheDefaults() {
        #expect(PackagingConfiguration(channel: nil, sourceRendition: "") == PackagingConfiguration())
    }

    @Test func aChannelsOutputsAndHLSSettingsDecide() {
        var channel = StreamChannel(name: "cam")
        (channel.outputs.hls, channel.outputs.llhls, channel.outputs.dash) = (true, false, true)
        (channel.hls.segmentSeconds, channel.hls.listSize, channel.hls.partSeconds) = (4, 8, nil)
        let configuration = PackagingConfiguration(channel: channel, sourceRendition: "watermarked")
        #expect(configuration == PackagingConfiguration(segmentSeconds: 4, listSize: 8, partSeconds: 0.5, hls: true, llhls: false,
                                                        dash: true, sourceRendition: "watermarked"))
        #expect(!PackagingConfiguration(channel: StreamChannel(name: "plain"), sourceRendition: "").isEnabled,
                "a new channel packages nothing: its HTTP outputs are off")
    }

    @Test func theHubReadsTheRenditionPlayingAsTheSourceFromTheChannel() async {
        var channel = StreamChannel(name: "cam")
        channel.outputs.hls = true
        channel.watermark.image.enabled = true
        let withoutImage = PackagerHub(bus: EmbeddedEventBus(), channels: OneChannel(channel: channel), logger: Logger(label: "test"))
        #expect(await withoutImage.configuration(of: stream)?.sourceRendition == "", "nothing to draw: the source plays")
        let withImage = PackagerHub(bus: EmbeddedEventBus(), channels: OneChannel(channel: channel, image: [0xFF, 0xD8, 0xFF]),
                                    logger: Logger(label: "test"))
        #expect(await withImage.configuration(of: stream)?.sourceRendition == StreamChannel.watermarkedRendition)
    }

    @Test func aChannelThatCannotBeReadIsNotPackagedThisSession() async {
        let hub = PackagerHub(bus: EmbeddedEventBus(), channels: UnreadableChannels(), logger: Logger(label: "test"))
        #expect(await hub.configuration(of: stream) == nil)
    }
}

/// Every stream's channel is `channel`, with `image` its uploaded watermark image.
struct OneChannel: ChannelDirectory {
    var channel: StreamChannel
    var image: [UInt8]?

    func channel(of stream: StreamID) async throws -> StreamChannel? { channel }
    func watermarkImageBytes(of stream: StreamID) async throws -> [UInt8]? { image }
}

/// A channel store that does not answer.
struct UnreadableChannels: ChannelDirectory {
    struct Unavailable: Error {}

    func channel(of stream: StreamID) async throws -> StreamChannel? { throw Unavailable() }
    func watermarkImageBytes(of stream: StreamID) async throws -> [UInt8]? { throw Unavailable() }
}
