import Events
import Foundation
import Logging
import Media
import NIOCore
import Testing
import TestSupport
@testable import Workers

/// A transcode worker that takes a stream over mid-session (a rebalance), and one that loses it.
@Suite(.serialized) struct TranscodeTakeoverTests {
    private let id = StreamID("takeover")!

    private func sourceFrames() throws -> [MediaFrame] { try MediaFixtures.fourSecondsOfFrames() }

    private func worker(_ bus: EmbeddedEventBus, headers: [MediaFrame]) -> TranscodeWorker {
        TranscodeWorker(bus: bus, joining: SessionJoining(lookback: .seconds(3)) { _, _ in headers },
                        channels: LadderChannel(renditions: [.p360]), logger: Logger(label: "test"))
    }

    /// Rendition frames published until `sentinel` (a frame the test publishes itself).
    /// The rendition frames until the sentinel session's frame, or (`throughEnd`) a rendition's
    /// `.end`: the transcoder runs on a thread of its own, so a sentinel published right after the
    /// source's frames may come before its output on a busy machine.
    private func renditions(_ subscription: BusSubscription, until sentinel: UInt64, throughEnd: Bool = false) async throws -> [MediaFrame] {
        var frames: [MediaFrame] = []
        for try await delivery in subscription {
            guard case .frame(let frame) = delivery.record.value else { continue }
            if frame.sessionID == sentinel { break }
            frames.append(frame)
            if throughEnd && frame.kind == .end { break }
            if frames.count > 10_000 { break }
        }
        return frames
    }

    private func sentinel(_ bus: EmbeddedEventBus) throws {
        try bus.publish(BusRecord(key: id.rawValue, value: .frame(MediaFrame(kind: .end, dts: 0, sessionID: 99, sequence: 0,
                                                                             rendition: "x", payload: ByteBuffer()))),
                        to: .mediaRenditions)
    }

    @Test func aWorkerJoiningMidSessionStartsAtTheNextKeyframeWithTheStoredHeaders() async throws {
        let frames = try sourceFrames()
        let headers = frames.filter(\.isConfiguration)
        let keyframes = frames.filter { $0.kind == .video && $0.isKeyframe && !$0.isSequenceHeader }
        try #require(keyframes.count >= 3)
        // The worker's first frame is a few frames past the second keyframe: mid-GOP, no headers.
        let firstRead = try #require(frames.firstIndex(of: keyframes[1])) + 5
        let bus = EmbeddedEventBus()
        let output = bus.subscribe(to: .mediaRenditions, from: .end)
        let worker = worker(bus, headers: headers)
        for frame in frames[firstRead...] where frame.kind != .end {
            await worker.handle(frame, of: id, partition: 0, publishedAt: Date())
        }
        let last = try #require(frames.last)
        await worker.handle(MediaFrame(kind: .end, dts: last.dts, sessionID: last.sessionID, sequence: last.sequence + 1,
                                       payload: ByteBuffer()), of: id, partition: 0, publishedAt: Date())
        let bound = Task {  // the read ends at the rendition's end, or after a minute at most
            try await Task.sleep(for: .seconds(60))
            try sentinel(bus)
        }
        defer { bound.cancel() }
        let rendition = try await renditions(output, until: 99, throughEnd: true)
        let pictures = rendition.filter { $0.kind == .video && !$0.isSequenceHeader }
        let first = try #require(pictures.first)
        #expect(first.isKeyframe && first.pts == keyframes[2].pts, "the first picture is the next source keyframe's")
        #expect(rendition.first { $0.kind == .video }?.isSequenceHeader == true, "the encoder's header comes first")
        #expect(rendition.contains { $0.kind == .audio && $0.isSequenceHeader }, "the stored audio header went on")
        let expected = frames.filter { $0.kind == .video && !$0.isSequenceHeader && $0.pts >= keyframes[2].pts &&
            (try? VideoTagInfo(body: $0.payload))?.isCodedFrame == true }
        // Fed faster than real time, the transcoder may drop to a keyframe (its backlog bound).
        #expect(Array(expected.map(\.pts).prefix(30)) == Array(pictures.map(\.pts).prefix(30)), "source timestamps, nothing older")
        #expect(Set(pictures.map(\.pts)).isSubset(of: expected.map(\.pts)) && pictures.map(\.pts) == pictures.map(\.pts).sorted())
        #expect(rendition.last?.kind == .end, "the publisher's end ends the rendition")
        // What the composition hands to the playback-start recorder: the rendition's new headers.
        var changes = worker.headerChanges.makeAsyncIterator()
        let change = try #require(await changes.next())
        #expect(change.stream == id && change.rendition == "360p" && change.session == last.sessionID)
        #expect(change.headers.contains { $0.kind == .video && $0.isSequenceHeader && $0.rendition == "360p" })
    }

    @Test func aRevokedStreamStopsWithoutEndingItsRenditions() async throws {
        let frames = try sourceFrames()
        let bus = EmbeddedEventBus()
        let output = bus.subscribe(to: .mediaRenditions, from: .end)
        let worker = worker(bus, headers: [])
        // Seen from its start: transcoded from the first frame.
        for frame in frames.prefix(60) { await worker.handle(frame, of: id, partition: 4, publishedAt: Date()) }
        #expect(worker.activeStreams == 1)
        await worker.release([3])
        #expect(worker.activeStreams == 1, "another partition's revocation leaves the stream alone")
        await worker.release([4])
        #expect(worker.activeStreams == 0)
        let last = try #require(frames.last)
        // A stale end of the session, still in flight when the partition went, ends nothing either.
        await worker.handle(MediaFrame(kind: .end, dts: last.dts, sessionID: last.sessionID, sequence: 60, payload: ByteBuffer()),
                            of: id, partition: 4, publishedAt: Date())
        try sentinel(bus)
        let rendition = try await renditions(output, until: 99)
        #expect(!rendition.contains { $0.kind == .end }, "the next owner's renditions go on: nothing ends them here")
    }
}
