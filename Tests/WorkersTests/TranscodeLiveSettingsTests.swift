import Events
import Foundation
import Logging
import Media
import NIOCore
import Testing
@testable import Workers

/// A transcode worker whose stream's channel changes while the stream is live: transcoding
/// starts, changes its ladder and stops at the next source keyframe, on the in-memory bus.
@Suite(.serialized) struct TranscodeLiveSettingsTests {
    private let id = StreamID("live-settings")!

    /// 854×480 at 30 fps with audio, a keyframe every second, four seconds.
    private static func sourceFrames() throws -> [MediaFrame] {
        let directory = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("source.flv")
        try MediaFixtures.makeFLV(at: source, input: ["-f", "lavfi", "-i", "testsrc2=size=854x480:rate=30"], seconds: 4, gop: 30)
        return try MediaFixtures.frames(ofFLV: source)
    }

    private static func ladder(_ renditions: [StreamChannel.Rendition]) -> StreamChannel {
        var channel = StreamChannel(name: "live")
        channel.transcode.enabled = !renditions.isEmpty
        channel.transcode.renditions = renditions.isEmpty ? [.p360] : renditions
        return channel
    }

    private static func keyframes(_ frames: [MediaFrame]) -> [MediaFrame] {
        frames.filter { $0.kind == .video && $0.isKeyframe && !$0.isSequenceHeader }
    }

    /// Feeds `frames` to a worker on `channels`; before the frame at each index of `changes`, the
    /// channel becomes that one and the worker is told. Returns every rendition frame published.
    private func run(_ frames: [MediaFrame], channels: ChangingChannel,
                     changes: [Int: StreamChannel]) async throws -> [MediaFrame] {
        let bus = EmbeddedEventBus()
        let output = bus.subscribe(to: .mediaRenditions, from: .end)
        let worker = TranscodeWorker(bus: bus, channels: channels, logger: Logger(label: "test"))
        for (index, frame) in frames.enumerated() where frame.kind != .end {
            if let channel = changes[index] {
                await channels.set(channel)
                await worker.channelChanged(id)
            }
            await worker.handle(frame, of: id, partition: 0, publishedAt: Date())
            // At the source's own pace, as a publisher sends it: fed faster, the transcoder would
            // drop to keyframes (its backlog bound) and the checks below would test that instead.
            if frame.kind == .video { try await Task.sleep(for: .milliseconds(33)) }
        }
        let last = try #require(frames.last)
        await worker.handle(MediaFrame(kind: .end, dts: last.dts + 33, sessionID: last.sessionID, sequence: last.sequence + 1,
                                       payload: ByteBuffer()), of: id, partition: 0, publishedAt: Date())
        // Everything the transcoders made is on the bus once the end is handled; the sentinel closes the read.
        try bus.publish(BusRecord(key: id.rawValue, value: .frame(MediaFrame(kind: .end, dts: 0, sessionID: 99, sequence: 0,
                                                                              rendition: "x", payload: ByteBuffer()))),
                        to: .mediaRenditions)
        var published: [MediaFrame] = []
        for try await delivery in output {
            guard case .frame(let frame) = delivery.record.value else { continue }
            if frame.sessionID == 99 { break }
            published.append(frame)
        }
        return published
    }

    private static func pictures(_ frames: [MediaFrame], of rendition: String) -> [MediaFrame] {
        frames.filter { $0.rendition == rendition && $0.kind == .video && !$0.isSequenceHeader }
    }

    @Test func transcodingTurnedOnLiveStartsAtTheNextKeyframeWithHeaders() async throws {
        let frames = try Self.sourceFrames()
        let keyframes = Self.keyframes(frames)
        try #require(keyframes.count >= 3)
        let changeAt = try #require(frames.firstIndex(of: keyframes[1])) + 5
        let channels = ChangingChannel(Self.ladder([]))
        let published = try await run(frames, channels: channels, changes: [changeAt: Self.ladder([.p360])])
        let rendition = published.filter { $0.rendition == "360p" }
        let first = try #require(Self.pictures(rendition, of: "360p").first)
        #expect(first.isKeyframe && first.pts == keyframes[2].pts, "the rendition begins at the next source keyframe")
        #expect(rendition.first { $0.kind == .video }?.isSequenceHeader == true, "the encoder's header first")
        #expect(rendition.contains { $0.kind == .audio && $0.isSequenceHeader }, "the audio header the source sent at its start")
        #expect(rendition.last?.kind == .end, "the publisher's end ends it")
        #expect(!published.contains { $0.rendition == RenditionLadder.watermarkedName }, "no copy in the source's place")
    }

    @Test func transcodingTurnedOffLiveEndsTheRenditionsAtTheNextKeyframe() async throws {
        let frames = try Self.sourceFrames()
        let keyframes = Self.keyframes(frames)
        try #require(keyframes.count >= 3)
        let changeAt = try #require(frames.firstIndex(of: keyframes[1])) + 5
        let channels = ChangingChannel(Self.ladder([.p360]))
        let published = try await run(frames, channels: channels, changes: [changeAt: Self.ladder([])])
        let ends = published.filter { $0.kind == .end && $0.rendition == "360p" }
        #expect(ends.count == 1 && ends.first?.dts == keyframes[2].dts, "one end, at the switch keyframe")
        let pictures = Self.pictures(published, of: "360p")
        let switched = keyframes[2].pts
        #expect(!pictures.isEmpty)
        #expect(pictures.allSatisfy { $0.pts < switched }, "nothing of the source past it")
        #expect(published.last { $0.rendition == "360p" }?.kind == .end)
    }

    @Test func aLadderChangedLiveKeepsItsRenditionsGoingAddsAndEndsOthers() async throws {
        let frames = try Self.sourceFrames()
        let keyframes = Self.keyframes(frames)
        try #require(keyframes.count >= 4)
        let addAt = try #require(frames.firstIndex(of: keyframes[1])) + 5
        let removeAt = try #require(frames.firstIndex(of: keyframes[2])) + 5
        let channels = ChangingChannel(Self.ladder([.p360]))
        let published = try await run(frames, channels: channels,
                                      changes: [addAt: Self.ladder([.p360, .p480]), removeAt: Self.ladder([.p480])])
        let p360 = Self.pictures(published, of: "360p")
        let p480 = Self.pictures(published, of: "480p")
        let ends360 = published.filter { $0.kind == .end && $0.rendition == "360p" }
        #expect(ends360.count == 1 && ends360.first?.dts == keyframes[3].dts, "360p ends once, where it was removed")
        let (added, removed) = (keyframes[2].pts, keyframes[3].pts)
        #expect(p360.contains { $0.pts > added }, "360p went on through the first change")
        #expect(p360.allSatisfy { $0.pts < removed })
        let first480 = try #require(p480.first)
        #expect(first480.isKeyframe && first480.pts == keyframes[2].pts, "480p begins where it was added")
        #expect(p480.contains { $0.pts > removed }, "480p goes on after 360p ends")
        let (times360, times480) = (p360.map(\.pts), p480.map(\.pts))
        #expect(times360 == times360.sorted())
        #expect(times480 == times480.sorted())
        let heights = published.filter { $0.kind == .metadata && $0.rendition == "480p" }
        #expect(!heights.isEmpty)
    }

    @Test func aSessionPlayingAWatermarkedCopyKeepsItThroughEveryChange() async throws {
        let frames = try Self.sourceFrames()
        let keyframes = Self.keyframes(frames)
        try #require(keyframes.count >= 4)
        var marked = Self.ladder([])
        marked.watermark.text.enabled = true
        marked.watermark.text.text = "LIVE"
        let addAt = try #require(frames.firstIndex(of: keyframes[1])) + 5
        let offAt = try #require(frames.firstIndex(of: keyframes[2])) + 5
        let channels = ChangingChannel(marked)
        // Watermark off and a ladder on; then nothing at all.
        let published = try await run(frames, channels: channels, changes: [addAt: Self.ladder([.p360]), offAt: Self.ladder([])])
        let copy = RenditionLadder.watermarkedName
        let copyEnds = published.filter { $0.kind == .end && $0.rendition == copy }
        #expect(copyEnds.count == 1 && copyEnds.first?.dts == (frames.last?.dts ?? 0) + 33, "the copy ends with the publisher only")
        let copyPictures = Self.pictures(published, of: copy)
        let last = keyframes[3].pts
        #expect(copyPictures.contains { $0.pts > last }, "the copy its players play goes on to the end")
        let first360 = try #require(Self.pictures(published, of: "360p").first)
        #expect(first360.pts == keyframes[2].pts, "the ladder added beside it")
        let ends360 = published.filter { $0.kind == .end && $0.rendition == "360p" }
        #expect(ends360.count == 1 && ends360.first?.dts == keyframes[3].dts)
    }

    @Test func aChannelChangeOnTheBusReachesTheRunningWorker() async throws {
        let frames = try Self.sourceFrames()
        let keyframes = Self.keyframes(frames)
        try #require(keyframes.count >= 3)
        let changeAt = try #require(frames.firstIndex(of: keyframes[1])) + 5
        let channel = Self.ladder([.p360])
        let stream = try #require(StreamID(channel.id.description), "a channel's streams are named by its id")
        let bus = EmbeddedEventBus()
        let output = bus.subscribe(to: .mediaRenditions, from: .end)
        let channels = ChangingChannel(Self.ladder([]))
        let worker = TranscodeWorker(bus: bus, channels: channels, logger: Logger(label: "test"))
        let running = Task { try await worker.run() }
        defer { running.cancel() }
        for (index, frame) in frames.enumerated() where frame.kind != .end {
            if index == changeAt {
                await channels.set(channel)
                try bus.publish(BusRecord(key: channel.id.description, value: .channel(.updated(channel))), to: .channels)
            }
            try bus.publish(BusRecord(key: stream.rawValue, value: .frame(frame)), to: .mediaSource)
            if frame.kind == .video { try await Task.sleep(for: .milliseconds(33)) }
        }
        let last = try #require(frames.last)
        try bus.publish(BusRecord(key: stream.rawValue, value: .frame(MediaFrame(kind: .end, dts: last.dts + 33, sessionID: last.sessionID,
                                                                                  sequence: last.sequence + 1, payload: ByteBuffer()))),
                        to: .mediaSource)
        let bound = Task {  // the read ends at the rendition's end, or after a minute at most
            try await Task.sleep(for: .seconds(60))
            try bus.publish(BusRecord(key: stream.rawValue, value: .frame(MediaFrame(kind: .end, dts: 0, sessionID: 99, sequence: 0,
                                                                                      rendition: "x", payload: ByteBuffer()))),
                            to: .mediaRenditions)
        }
        defer { bound.cancel() }
        var rendition: [MediaFrame] = []
        for try await delivery in output {
            guard case .frame(let frame) = delivery.record.value, frame.sessionID != 99 else { break }
            rendition.append(frame)
            if frame.kind == .end { break }
        }
        let first = try #require(Self.pictures(rendition, of: "360p").first, "the change on the bus started the rendition")
        let changed = frames[changeAt].dts
        #expect(first.isKeyframe && keyframes.contains { $0.pts == first.pts } && first.pts > changed, "at a source keyframe after it")
        #expect(rendition.last?.kind == .end)
    }
}

/// A channel directory whose one channel the test changes.
actor ChangingChannel: ChannelDirectory {
    private var current: StreamChannel?

    init(_ channel: StreamChannel?) { current = channel }

    func set(_ channel: StreamChannel?) { current = channel }
    func channel(of stream: StreamID) async throws -> StreamChannel? { current }
    func watermarkImageBytes(of stream: StreamID) async throws -> [UInt8]? { nil }
}
