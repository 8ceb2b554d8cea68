import Foundation
import NIOConcurrencyHelpers

/// Answers kept for a while, behind one lock. Bounded: past `capacity` entries, expired ones
/// go first, and if none have, everything does (a cache, never a store).
final class ExpiringCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entry {
        var value: Value
        var expires: Date
    }

    /// Read and filled by access checks from any task or event loop; a lock keeps a cache hit free of any hop.
    private let entries = NIOLockedValueBox([Key: Entry]())
    private let capacity: Int

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    func value(for key: Key, now: Date) -> Value? {
        entries.withLockedValue { entries in
            guard let entry = entries[key], entry.expires > now else { return nil }
            return entry.value
        }
    }

    func store(_ value: Value, for key: Key, lifetime: Double, now: Date) {
        guard lifetime > 0 else { return }
        entries.withLockedValue { entries in
            if entries.count >= capacity {
                entries = entries.filter { $0.value.expires > now }
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[key] = Entry(value: value, expires: now.addingTimeInterval(lifetime))
        }
    }

    /// Forgets every answer whose key matches (what it answered changed).
    func removeAll(where matches: (Key) -> Bool) {
        entries.withLockedValue { entries in entries = entries.filter { !matches($0.key) } }
    }
}
