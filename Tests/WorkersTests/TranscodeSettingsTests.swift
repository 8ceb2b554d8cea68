import Events
@testable import Workers
import Testing

/// The channel policy of what a stream plays as (`StreamChannel.playbackSource`, in Events) and
/// the transcoding read from a channel (`TranscodeSettings.of`) agree.
@Suite struct TranscodeSettingsTests {
    let stream = StreamID("cam")!

    private func channel(ladder: Bool = false, text: Bool = false, image: Bool = false) -> StreamChannel {
        var channel = StreamChannel(name: "cam")
        channel.transcode.enabled = ladder
        (channel.watermark.text.enabled, channel.watermark.text.text) = (text, "live")
        channel.watermark.image.enabled = image
        return channel
    }

    @Test func theSourcePlaysUnlessAWatermarkWithoutALadderStandsIn() {
        #expect(channel().playbackSource(hasWatermarkImage: false) == "")
        #expect(channel(ladder: true, text: true).playbackSource(hasWatermarkImage: false) == "", "the ladder's renditions mark it")
        #expect(channel(text: true).playbackSource(hasWatermarkImage: false) == StreamChannel.watermarkedRendition)
        #expect(channel(image: true).playbackSource(hasWatermarkImage: false) == "", "an image with nothing uploaded draws nothing")
        #expect(channel(image: true).playbackSource(hasWatermarkImage: true) == StreamChannel.watermarkedRendition)
        #expect(StreamChannel.watermarkedRendition == RenditionLadder.watermarkedName)
    }

    @Test func thePolicyAndTheSettingsAgreeForEveryCombination() async throws {
        for ladder in [false, true] {
            for text in [false, true] {
                for image in [false, true] {
                    for uploaded in [false, true] {
                        let channel = channel(ladder: ladder, text: text, image: image)
                        let directory = LadderChannel(channel: channel, image: uploaded ? [0xFF, 0xD8, 0xFF] : nil)
                        let settings = try await TranscodeSettings.of(stream, in: directory, fontFile: "font.ttf")
                        let expected = channel.playbackSource(hasWatermarkImage: uploaded)
                        #expect((settings?.playbackSource ?? "") == expected, "ladder \(ladder) text \(text) image \(image) uploaded \(uploaded)")
                        #expect((settings != nil) == channel.transcodes(hasWatermarkImage: uploaded))
                    }
                }
            }
        }
    }

    @Test func aStreamWithoutAChannelIsNotTranscoded() async throws {
        #expect(try await TranscodeSettings.of(stream, in: LadderChannel(channel: nil), fontFile: "font.ttf") == nil)
    }
}

/// Every stream's channel is `channel` (nil: none), with `image` its uploaded watermark image.
struct LadderChannel: ChannelDirectory {
    var channel: StreamChannel?
    var image: [UInt8]?

    /// A channel that transcodes to `renditions` and draws no watermark.
    init(renditions: [StreamChannel.Rendition]) {
        var channel = StreamChannel(name: "ladder")
        channel.transcode.enabled = true
        channel.transcode.renditions = renditions
        self.init(channel: channel)
    }

    init(channel: StreamChannel?, image: [UInt8]? = nil) {
        self.channel = channel
        self.image = image
    }

    func channel(of stream: StreamID) async throws -> StreamChannel? { channel }
    func watermarkImageBytes(of stream: StreamID) async throws -> [UInt8]? { image }
}
