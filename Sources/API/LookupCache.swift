import NIOConcurrencyHelpers
import NIOCore

/// Answers many requests ask for at once that may lag what they stand for by a moment (the
/// thumbnail track's index lookups and sprites): each is kept `lifetime`, askers that come while
/// it is being looked up share that one lookup (single flight), and at most `capacity` are kept
/// (expired ones go first, then those expiring soonest). A lookup that fails is not kept.
final class LookupCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entry {
        var lookup: Task<Value, any Error>
        var expires: NIODeadline
        var serial: UInt64
    }

    private struct Entries {
        var byKey: [Key: Entry] = [:]
        var serial: UInt64 = 0
    }

    // A lock: request tasks on any thread read and replace entries, each for a moment.
    private let entries = NIOLockedValueBox(Entries())
    let lifetime: TimeAmount
    let capacity: Int

    init(lifetime: TimeAmount, capacity: Int) {
        self.lifetime = lifetime
        self.capacity = max(1, capacity)
    }

    /// How many entries are kept (expired ones included until they are evicted).
    var count: Int { entries.withLockedValue { $0.byKey.count } }

    /// The value kept for `key`, or the one `lookUp` gives (shared with every asker until it expires).
    func value(for key: Key, now: NIODeadline = .now(), lookUp: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let (lookup, serial) = entries.withLockedValue { entries -> (Task<Value, any Error>, UInt64) in
            if let entry = entries.byKey[key], entry.expires > now { return (entry.lookup, entry.serial) }
            entries.byKey = entries.byKey.filter { $0.value.expires > now }
            while entries.byKey.count >= capacity, let soonest = entries.byKey.min(by: { $0.value.expires < $1.value.expires }) {
                entries.byKey[soonest.key] = nil
            }
            entries.serial &+= 1
            let lookup = Task { try await lookUp() }
            entries.byKey[key] = Entry(lookup: lookup, expires: now + lifetime, serial: entries.serial)
            return (lookup, entries.serial)
        }
        do {
            return try await lookup.value
        } catch {
            entries.withLockedValue { entries in
                if entries.byKey[key]?.serial == serial { entries.byKey[key] = nil }
            }
            throw error
        }
    }
}
