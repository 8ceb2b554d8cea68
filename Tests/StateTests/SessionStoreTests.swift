import Events
import Foundation
import NIOCore
import State
import Testing
import TestSupport

/// The `SessionStore` contract, checked on every implementation: in memory, and Redis (a real
/// `redis-server` on a free loopback port, started and stopped per test).
@Suite struct SessionStoreTests {
    enum Kind: String, CaseIterable, Sendable {
        case inMemory
        case redis
    }

    let stream = StreamID("cam1")!

    /// A store of `kind`, and what stops it.
    func store(_ kind: Kind) throws -> (store: any SessionStore, stop: () -> Void) {
        switch kind {
        case .inMemory: return (InMemorySessionStore(), {})
        case .redis:
            let server = try RedisServer()
            return (RedisSessionStore(redis: RedisClient(host: "127.0.0.1", port: server.port)), server.stop)
        }
    }

    @Test(arguments: Kind.allCases)
    func onePublisherHoldsTheLockUntilReleaseOrExpiry(_ kind: Kind) async throws {
        let (store, stop) = try store(kind)
        defer { stop() }
        #expect(try await store.acquirePublishLock(stream, owner: "a", ttl: .seconds(30)))
        #expect(try await store.acquirePublishLock(stream, owner: "a", ttl: .seconds(30)), "the owner may take it again")
        #expect(try await !store.acquirePublishLock(stream, owner: "b", ttl: .seconds(30)))
        #expect(try await store.renewPublishLock(stream, owner: "a", ttl: .seconds(30)))
        #expect(try await !store.renewPublishLock(stream, owner: "b", ttl: .seconds(30)))
        try await store.releasePublishLock(stream, owner: "b")  // not the owner: no effect
        #expect(try await !store.acquirePublishLock(stream, owner: "b", ttl: .seconds(30)))
        try await store.releasePublishLock(stream, owner: "a")
        #expect(try await store.acquirePublishLock(stream, owner: "b", ttl: .milliseconds(20)))
        try await Task.sleep(for: .milliseconds(60))
        #expect(try await !store.renewPublishLock(stream, owner: "b", ttl: .seconds(30)), "expired")
        #expect(try await store.acquirePublishLock(stream, owner: "c", ttl: .seconds(30)))
    }

    @Test(arguments: Kind.allCases)
    func liveSetFollowsTheCurrentSessionOnly(_ kind: Kind) async throws {
        let (store, stop) = try store(kind)
        defer { stop() }
        var first = StreamSession(streamID: stream, sessionID: 1, node: "n", startedAt: Date(), videoCodec: "avc1")
        try await store.markLive(first)
        first.width = 1280
        first.bitrate = 2_500_000
        try await store.markLive(first)
        #expect(try await store.session(stream) == first, "details update in place")
        let second = StreamSession(streamID: stream, sessionID: 2, node: "n", startedAt: Date())
        try await store.markLive(second)
        let other = StreamSession(streamID: StreamID("cam0")!, sessionID: UInt64.max, node: "m", startedAt: Date())
        try await store.markLive(other)
        #expect(try await store.liveSessions() == [other, second], "sorted by stream id; 64-bit ids intact")
        try await store.markOffline(stream, sessionID: 1)  // a stale session ending leaves the new one live
        #expect(try await store.session(stream)?.sessionID == 2)
        try await store.markOffline(stream, sessionID: 2)
        #expect(try await store.session(stream) == nil)
        #expect(try await store.liveSessions() == [other])
    }

    @Test(arguments: Kind.allCases)
    func playbackStartFollowsTheCurrentSession(_ kind: Kind) async throws {
        let (store, stop) = try store(kind)
        defer { stop() }
        try await store.recordKeyframe(stream, sessionID: 1, offset: 10)  // not live yet: ignored
        #expect(try await store.playbackStart(of: stream) == nil)
        try await store.markLive(StreamSession(streamID: stream, sessionID: 2, node: "n", startedAt: Date()))
        #expect(try await store.playbackStart(of: stream) == PlaybackStart(sessionID: 2, headers: [], keyframeOffset: nil))
        let headers = [MediaFrame(kind: .metadata, dts: 0, sessionID: 2, sequence: 0, payload: ByteBuffer(bytes: [2, 0, 1, 0x41])),
                       MediaFrame(kind: .video, flags: [.keyframe, .sequenceHeader], codec: "avc1", dts: 0, sessionID: 2,
                                  sequence: 1, payload: ByteBuffer(bytes: [0x17, 0, 0, 0, 0, 1, 0x64]))]
        try await store.recordHeaders(stream, sessionID: 2, headers: headers)
        try await store.recordKeyframe(stream, sessionID: 2, offset: 41)
        try await store.recordKeyframe(stream, sessionID: 2, offset: 97)
        try await store.recordKeyframe(stream, sessionID: 1, offset: 12)  // an old session's: ignored
        #expect(try await store.playbackStart(of: stream) == PlaybackStart(sessionID: 2, headers: headers, keyframeOffset: 97))
        try await store.markOffline(stream, sessionID: 2)
        #expect(try await store.playbackStart(of: stream) == nil)
    }

    @Test(arguments: Kind.allCases)
    func packagingStartKeepsTheNewestSegmentStartsPerRendition(_ kind: Kind) async throws {
        let (store, stop) = try store(kind)
        defer { stop() }
        try await store.recordSegmentStart(stream, rendition: "", sessionID: 2, offset: 5)  // not live yet: ignored
        #expect(try await store.packagingStart(of: stream) == nil)
        try await store.markLive(StreamSession(streamID: stream, sessionID: 2, node: "n", startedAt: Date()))
        let empty = PackagingStart.Track(headers: [], offset: nil)
        #expect(try await store.packagingStart(of: stream) == PackagingStart(sessionID: 2, tracks: ["": empty]))
        try await store.recordKeyframe(stream, sessionID: 2, offset: 3)
        #expect(try await store.packagingStart(of: stream)?.source.offset == 3, "the newest keyframe until segments are recorded")

        let source = [MediaFrame(kind: .audio, flags: .sequenceHeader, codec: "aac", dts: 0, sessionID: 2, sequence: 0,
                                 payload: ByteBuffer(bytes: [0xAF, 0, 0x12, 0x10]))]
        var rendition = source
        rendition[0].rendition = "360p"
        try await store.recordHeaders(stream, sessionID: 2, headers: source)
        try await store.recordHeaders(stream, rendition: "360p", sessionID: 2, headers: rendition)
        for offset in [10, 20, 30, 40, 50, 60] as [Int64] {
            try await store.recordSegmentStart(stream, rendition: "", sessionID: 2, offset: offset)
        }
        try await store.recordSegmentStart(stream, rendition: "360p", sessionID: 2, offset: 7)
        try await store.recordSegmentStart(stream, rendition: "360p", sessionID: 1, offset: 1)  // an old session's: ignored
        let start = try #require(try await store.packagingStart(of: stream))
        #expect(start.source == PackagingStart.Track(headers: source, offset: 30), "the oldest of the newest four")
        #expect(start.renditions == ["360p": PackagingStart.Track(headers: rendition, offset: 7)])
        #expect(try await store.playbackStart(of: stream)?.headers == source, "the source's headers as before")

        try await store.markLive(StreamSession(streamID: stream, sessionID: 3, node: "n", startedAt: Date()))
        #expect(try await store.packagingStart(of: stream) == PackagingStart(sessionID: 3, tracks: ["": empty]),
                "a new session starts with nothing recorded")
        try await store.markOffline(stream, sessionID: 3)
        #expect(try await store.packagingStart(of: stream) == nil)
    }

    @Test(arguments: Kind.allCases)
    func relayStatusesAreReplacedAndRemoved(_ kind: Kind) async throws {
        let (store, stop) = try store(kind)
        defer { stop() }
        #expect(try await store.relayStatuses(of: stream).isEmpty)
        let statuses = [RelayStatus(destination: "rtmp://a/app/ke…", state: .live),
                        RelayStatus(destination: "rtmps://b/app/ke…", state: .failed, lastError: "refused")]
        try await store.setRelayStatuses(statuses, of: stream)
        #expect(try await store.relayStatuses(of: stream) == statuses)
        try await store.setRelayStatuses([], of: stream)
        #expect(try await store.relayStatuses(of: stream).isEmpty)
    }

    @Test(arguments: Kind.allCases)
    func aLostNodesSessionEndsOnceWithItsLock(_ kind: Kind) async throws {
        let (store, stop) = try store(kind)
        defer { stop() }
        #expect(try await !store.isAlive(node: "n1"), "never beat")
        try await store.heartbeat(node: "n1", ttl: .seconds(5))
        #expect(try await store.isAlive(node: "n1"))
        // A beat with a short TTL replaces the long one and runs out (generous margins: tests run in parallel).
        try await store.heartbeat(node: "n1", ttl: .milliseconds(50))
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await !store.isAlive(node: "n1"), "beat expired")

        let session = StreamSession(streamID: stream, sessionID: 7, node: "n1", startedAt: Date())
        #expect(try await store.acquirePublishLock(stream, owner: "n1/7", ttl: .seconds(30)))
        try await store.markLive(session)
        #expect(try await store.endSessionOfLostNode(session))
        #expect(try await !store.endSessionOfLostNode(session), "only one survivor ends it")
        #expect(try await store.session(stream) == nil)
        #expect(try await store.liveSessions().isEmpty)
        #expect(try await store.acquirePublishLock(stream, owner: "n2/8", ttl: .seconds(30)), "the lost node's lock went too")

        // Another node's lock and a newer session are left alone.
        let newer = StreamSession(streamID: stream, sessionID: 8, node: "n2", startedAt: Date())
        try await store.markLive(newer)
        #expect(try await !store.endSessionOfLostNode(session))
        #expect(try await store.session(stream) == newer)
        #expect(try await !store.acquirePublishLock(stream, owner: "n3/9", ttl: .seconds(30)))
    }

    /// Redis going away fails calls with a clear error; when it is back, the same store works
    /// again without being made anew.
    @Test(arguments: Kind.allCases)
    func aStreamsNumberingContinuesAcrossItsSessions(_ kind: Kind) async throws {
        let (store, stop) = try store(kind)
        defer { stop() }
        #expect(try await store.continuation(of: stream) == nil)
        try await store.recordContinuation(stream, .init(segment: 117_000_042, discontinuity: 7))
        try await store.markLive(StreamSession(streamID: stream, sessionID: 9, node: "n", startedAt: Date()))
        try await store.markOffline(stream, sessionID: 9)
        #expect(try await store.continuation(of: stream) == .init(segment: 117_000_042, discontinuity: 7), "outlives the session")
        #expect(try await store.continuation(of: StreamID("other")!) == nil)
    }

    @Test func aRedisRestartIsSurvived() async throws {
        let server = try RedisServer()
        let store = RedisSessionStore(redis: RedisClient(host: "127.0.0.1", port: server.port, timeout: .milliseconds(500)))
        #expect(try await store.acquirePublishLock(stream, owner: "a", ttl: .seconds(30)))
        server.stop()
        await #expect(throws: StateError.self) { try await store.liveSessions() }
        let again = try RedisServer(port: server.port)
        defer { again.stop() }
        #expect(try await store.liveSessions().isEmpty, "reconnected (the restarted server is empty: no persistence in tests)")
        #expect(try await store.acquirePublishLock(stream, owner: "b", ttl: .seconds(30)))
    }

    @Test func redisURLsAreChecked() throws {
        let client = try RedisClient(url: "redis://127.0.0.1:6380")
        #expect(client.host == "127.0.0.1" && client.port == 6380)
        #expect(try RedisClient(url: "redis://cache.internal").port == 6379)
        #expect(throws: StateError.self) { try RedisClient(url: "http://127.0.0.1:6379") }
    }
}
