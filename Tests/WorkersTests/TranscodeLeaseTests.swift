import Events
import Foundation
import Logging
import Media
import NIOCore
import State
import Testing
import TestSupport
@testable import Workers

/// Transcode workers agreeing by lease who transcodes a session: a lapsed lease is taken over
/// by a worker that does not read the stream's partition, a session leased elsewhere is passed
/// over by its partition's owner until the lease lapses, and a lost lease stops the transcoding.
@Suite(.serialized) struct TranscodeLeaseTests {
    private let id = StreamID("leased")!

    /// The embedded bus, but a worker's own subscriptions (its partitions) never deliver: what
    /// the worker reads comes from its keyed take-over reads only (or the test's `handle` calls).
    private struct KeyedReadsOnly: EventBus {
        let bus: EmbeddedEventBus

        private struct Silent: BusCursor {
            func next() async throws -> BusDelivery? {
                try? await Task.sleep(for: .seconds(600))
                return nil
            }
        }

        func publish(_ record: BusRecord, to topic: Topic) throws { try bus.publish(record, to: topic) }
        func subscribe(to topic: Topic, from start: SubscriptionStart) -> BusSubscription { BusSubscription(cursor: Silent()) }
        func subscribe(to topic: Topic, key: String, from start: SubscriptionStart) -> BusSubscription {
            bus.subscribe(to: topic, key: key, from: start)
        }
        func subscribe(to topic: Topic, group: String) -> BusSubscription { BusSubscription(cursor: Silent()) }
        func shutdown() async { await bus.shutdown() }
        func statistics() -> [Topic: BusStatistics] { bus.statistics() }
        var unavailability: String? { nil }
    }

    private func sourceFrames() throws -> [MediaFrame] { try MediaFixtures.fourSecondsOfFrames() }

    private let leases = InMemoryLeaseStore()
    private let sessions = InMemorySessionStore()

    /// A live session of four seconds of frames, its headers recorded in session state.
    private func liveSession() async throws -> (frames: [MediaFrame], session: UInt64, keyframes: [MediaFrame]) {
        let frames = try sourceFrames()
        let session = try #require(frames.first?.sessionID)
        let keyframes = frames.filter { $0.kind == .video && $0.isKeyframe && !$0.isSequenceHeader }
        try #require(keyframes.count >= 4)
        try await sessions.markLive(StreamSession(streamID: id, sessionID: session, node: "ingest", startedAt: Date()))
        try await sessions.recordHeaders(id, sessionID: session, headers: frames.filter(\.isConfiguration))
        return (frames, session, keyframes)
    }

    private func leasing(_ leases: InMemoryLeaseStore, _ sessions: InMemorySessionStore) -> TranscodeLeasing {
        TranscodeLeasing(leases: leases, sessions: sessions, owner: "survivor", ttl: .milliseconds(600),
                         renewal: .milliseconds(150), poll: .milliseconds(50), grace: .zero)
    }

    private func worker(_ bus: any EventBus, _ leasing: TranscodeLeasing, headers: [MediaFrame]) -> TranscodeWorker {
        TranscodeWorker(bus: bus, joining: SessionJoining(lookback: .seconds(3)) { _, _ in headers }, leasing: leasing,
                        channels: LadderChannel(renditions: [.p360]), logger: Logger(label: "test"))
    }

    /// Rendition frames until a rendition's end (or 10,000 frames, or the bound's sentinel).
    private func renditions(_ subscription: BusSubscription) async throws -> [MediaFrame] {
        var frames: [MediaFrame] = []
        for try await delivery in subscription {
            guard case .frame(let frame) = delivery.record.value else { continue }
            if frame.sessionID == 99 { break }
            frames.append(frame)
            if frame.kind == .end || frames.count > 10_000 { break }
        }
        return frames
    }

    /// Ends a rendition read after `seconds` at most.
    private func bound(_ bus: EmbeddedEventBus, seconds: Int) -> Task<Void, any Error> {
        Task {
            try await Task.sleep(for: .seconds(seconds))
            try bus.publish(BusRecord(key: id.rawValue, value: .frame(MediaFrame(kind: .end, dts: 0, sessionID: 99, sequence: 0,
                                                                                 rendition: "x", payload: ByteBuffer()))),
                            to: .mediaRenditions)
        }
    }

    private func waitUntil(_ seconds: Double, _ condition: () async -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if await condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return await condition()
    }

    @Test func aLapsedLeaseIsTakenOverByAWorkerThatDoesNotReadThePartition() async throws {
        let (frames, session, keyframes) = try await liveSession()
        let bus = EmbeddedEventBus()
        // The first two GOPs were published while a worker now dead held the lease.
        let name = TranscodeLeasing.name(id, session)
        #expect(try await leases.acquire(name, owner: "dead", ttl: .milliseconds(600)))
        let split = try #require(frames.firstIndex(of: keyframes[2]))
        for (offset, frame) in frames[..<split].enumerated() {
            try bus.publish(BusRecord(key: id.rawValue, value: .frame(frame)), to: .mediaSource)
            if frame == keyframes[0] { try await sessions.recordSegmentStart(id, rendition: "", sessionID: session, offset: Int64(offset)) }
        }
        let output = bus.subscribe(to: .mediaRenditions, from: .end)
        let worker = worker(KeyedReadsOnly(bus: bus), leasing(leases, sessions), headers: [])
        let running = Task { try await worker.run() }
        defer { running.cancel() }
        let tookOver = try await waitUntil(30) { (try? await leases.holders(of: [name]).first ?? nil) == "survivor" }
        #expect(tookOver, "the lapsed lease went to the surviving worker")
        let reading = try await waitUntil(30) { worker.streams.withLockedValue { $0[id]?.isTakeover == true } }
        #expect(reading)
        // The dead holder could have read the frames published before it lapsed: the survivor
        // begins at the next segment start (here any keyframe: the frames carry no timeline).
        for frame in frames[split...] where frame.kind != .end {
            try bus.publish(BusRecord(key: id.rawValue, value: .frame(frame)), to: .mediaSource)
        }
        let last = try #require(frames.last)
        try bus.publish(BusRecord(key: id.rawValue, value: .frame(MediaFrame(kind: .end, dts: last.dts, sessionID: session,
                                                                             sequence: last.sequence + 1, payload: ByteBuffer()))),
                        to: .mediaSource)
        let limit = bound(bus, seconds: 60)
        defer { limit.cancel() }
        let rendition = try await renditions(output)
        let pictures = rendition.filter { $0.kind == .video && !$0.isSequenceHeader }
        #expect(pictures.first?.pts == keyframes[2].pts, "the first picture is the first keyframe published after the lease lapsed")
        #expect(rendition.contains { $0.kind == .audio && $0.isSequenceHeader }, "the recorded audio header went first")
        #expect(rendition.last?.kind == .end, "the session's end ends the rendition")
        let released = try await waitUntil(30) { worker.streams.withLockedValue { $0[id] == nil } }
        #expect(released && worker.activeStreams == 0)
    }

    @Test func aPartitionOwnerPassesOverASessionLeasedElsewhereUntilTheLeaseLapses() async throws {
        let (frames, session, keyframes) = try await liveSession()
        let bus = EmbeddedEventBus()
        let name = TranscodeLeasing.name(id, session)
        #expect(try await leases.acquire(name, owner: "other", ttl: .milliseconds(600)))
        let output = bus.subscribe(to: .mediaRenditions, from: .end)
        let worker = worker(KeyedReadsOnly(bus: bus), leasing(leases, sessions), headers: frames.filter(\.isConfiguration))
        // The partition's frames reach this worker too (the test hands them over): each is
        // published, then handled as the group would deliver it.
        func deliver(_ frame: MediaFrame) async throws {
            try bus.publish(BusRecord(key: id.rawValue, value: .frame(frame)), to: .mediaSource)
            await worker.handle(frame, of: id, partition: 0, publishedAt: Date())
        }
        let split = try #require(frames.firstIndex(of: keyframes[2]))
        for frame in frames[..<split] { try await deliver(frame) }
        #expect(worker.activeStreams == 0, "another worker holds the session")
        #expect(worker.streams.withLockedValue { $0[id]?.heldElsewhere } == true)
        let running = Task { try await worker.run() }
        defer { running.cancel() }
        let tookOver = try await waitUntil(30) { worker.streams.withLockedValue { $0[id]?.isTakeover == true } }
        #expect(tookOver, "the lapsed lease was taken over here")
        #expect(try await leases.holders(of: [name]) == ["survivor"])
        for frame in frames[split...] where frame.kind != .end { try await deliver(frame) }
        let last = try #require(frames.last)
        try await deliver(MediaFrame(kind: .end, dts: last.dts, sessionID: session, sequence: last.sequence + 1, payload: ByteBuffer()))
        let limit = bound(bus, seconds: 60)
        defer { limit.cancel() }
        let rendition = try await renditions(output)
        let pictures = rendition.filter { $0.kind == .video && !$0.isSequenceHeader }
        #expect(pictures.first?.pts == keyframes[2].pts, "transcoded from the first keyframe after the lease lapsed")
        #expect(Set(pictures.map(\.pts)).count == pictures.count, "one transcoder: the partition's copies were passed over")
        #expect(rendition.filter { $0.kind == .end }.count == 1)
    }

    @Test func aLostLeaseStopsTheTranscodingAtOnce() async throws {
        let frames = try sourceFrames()
        let session = try #require(frames.first?.sessionID)
        let bus = EmbeddedEventBus()
        let worker = worker(KeyedReadsOnly(bus: bus), leasing(leases, sessions), headers: [])
        let running = Task { try await worker.run() }
        defer { running.cancel() }
        for frame in frames.prefix(60) { await worker.handle(frame, of: id, partition: 0, publishedAt: Date()) }
        #expect(worker.activeStreams == 1)
        // Another worker has the lease now (this one's lapsed while it could not renew).
        let name = TranscodeLeasing.name(id, session)
        try await leases.release(name, owner: "survivor")
        #expect(try await leases.acquire(name, owner: "other", ttl: .seconds(60)))
        let stopped = try await waitUntil(30) { worker.activeStreams == 0 }
        #expect(stopped, "the renewal found the lease gone and the transcoding stopped")
        // The session's next frames from the partition are passed over: the other worker has it.
        for frame in frames.dropFirst(60).prefix(30) { await worker.handle(frame, of: id, partition: 0, publishedAt: Date()) }
        #expect(worker.activeStreams == 0)
    }
}
