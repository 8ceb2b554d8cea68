import Events
import Foundation
import State
import Testing

@Suite struct InMemorySessionStoreTests {
    let stream = StreamID("cam1")!

    @Test func onePublisherHoldsTheLockUntilReleaseOrExpiry() async throws {
        let store = InMemorySessionStore()
        #expect(try await store.acquirePublishLock(stream, owner: "a", ttl: .seconds(30)))
        #expect(try await !store.acquirePublishLock(stream, owner: "b", ttl: .seconds(30)))
        #expect(try await store.renewPublishLock(stream, owner: "a", ttl: .seconds(30)))
        #expect(try await !store.renewPublishLock(stream, owner: "b", ttl: .seconds(30)))
        try await store.releasePublishLock(stream, owner: "b")  // not the owner: no effect
        #expect(try await !store.acquirePublishLock(stream, owner: "b", ttl: .seconds(30)))
        try await store.releasePublishLock(stream, owner: "a")
        #expect(try await store.acquirePublishLock(stream, owner: "b", ttl: .milliseconds(1)))
        try await Task.sleep(for: .milliseconds(5))
        #expect(try await store.acquirePublishLock(stream, owner: "c", ttl: .seconds(30)))
    }

    @Test func liveSetFollowsTheCurrentSessionOnly() async throws {
        let store = InMemorySessionStore()
        try await store.markLive(StreamSession(streamID: stream, sessionID: 1, node: "n", startedAt: Date()))
        try await store.markLive(StreamSession(streamID: stream, sessionID: 2, node: "n", startedAt: Date()))
        try await store.markOffline(stream, sessionID: 1)  // a stale session ending leaves the new one live
        #expect(try await store.session(stream)?.sessionID == 2)
        try await store.markOffline(stream, sessionID: 2)
        #expect(try await store.liveSessions().isEmpty)
    }
}
