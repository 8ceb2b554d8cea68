import Foundation
import Testing
@testable import Access

/// The cache behind channel rules and hook answers: answers live for their lifetime only, the
/// cache never grows past its capacity, and what changed can be forgotten.
@Suite struct ExpiringCacheTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func anAnswerLivesForItsLifetimeOnly() {
        let cache = ExpiringCache<String, Int>()
        cache.store(1, for: "a", lifetime: 2, now: now)
        #expect(cache.value(for: "a", now: now) == 1)
        #expect(cache.value(for: "a", now: now + 1.999) == 1)
        #expect(cache.value(for: "a", now: now + 2) == nil)
        #expect(cache.value(for: "b", now: now) == nil)
    }

    /// A lifetime of 0 means "ask every time" (`admissionCacheSeconds` default).
    @Test func aLifetimeOfZeroStoresNothing() {
        let cache = ExpiringCache<String, Int>()
        cache.store(1, for: "a", lifetime: 0, now: now)
        cache.store(2, for: "b", lifetime: -5, now: now)
        #expect(cache.value(for: "a", now: now) == nil)
        #expect(cache.value(for: "b", now: now - 10) == nil)
    }

    @Test func storingAgainReplacesTheAnswerAndItsExpiry() {
        let cache = ExpiringCache<String, Int>()
        cache.store(1, for: "a", lifetime: 10, now: now)
        cache.store(2, for: "a", lifetime: 1, now: now)
        #expect(cache.value(for: "a", now: now) == 2)
        #expect(cache.value(for: "a", now: now + 5) == nil)
    }

    /// At capacity, expired answers make room first and live ones stay.
    @Test func atCapacityExpiredAnswersGoFirst() {
        let cache = ExpiringCache<String, Int>(capacity: 3)
        cache.store(1, for: "short", lifetime: 1, now: now)
        cache.store(2, for: "long1", lifetime: 100, now: now)
        cache.store(3, for: "long2", lifetime: 100, now: now)
        let later = now + 10
        cache.store(4, for: "new", lifetime: 100, now: later)
        #expect(cache.value(for: "long1", now: later) == 2)
        #expect(cache.value(for: "long2", now: later) == 3)
        #expect(cache.value(for: "new", now: later) == 4)
        // Full again, with live answers only: one more empties it.
        cache.store(5, for: "newer", lifetime: 100, now: later)
        #expect(cache.value(for: "newer", now: later) == 5)
        #expect(cache.value(for: "long1", now: later) == nil)
    }

    /// With every answer still live, the cache starts over rather than grow: it is a cache, never a store.
    @Test func atCapacityWithNothingExpiredEverythingGoes() {
        let cache = ExpiringCache<Int, Int>(capacity: 100)
        for key in 0..<100 { cache.store(key, for: key, lifetime: 60, now: now) }
        #expect((0..<100).allSatisfy { cache.value(for: $0, now: now) == $0 })
        cache.store(100, for: 100, lifetime: 60, now: now)
        #expect(cache.value(for: 100, now: now) == 100)
        #expect((0..<100).allSatisfy { cache.value(for: $0, now: now) == nil })
    }

    @Test func removeAllForgetsOnlyTheMatchingKeys() {
        let cache = ExpiringCache<String, Int>()
        for (index, key) in ["cam1", "cam1/720p", "cam2"].enumerated() { cache.store(index, for: key, lifetime: 60, now: now) }
        cache.removeAll { $0.hasPrefix("cam1") }
        #expect(cache.value(for: "cam1", now: now) == nil)
        #expect(cache.value(for: "cam1/720p", now: now) == nil)
        #expect(cache.value(for: "cam2", now: now) == 2)
    }
}
