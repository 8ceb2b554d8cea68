/// Puts received packets back in sequence order and says which are missing (for NACKs,
/// RFC 4585 §6.2.1): a window of `capacity` unwrapped sequence numbers from the next one due.
///
/// A gap is waited for at most `maxWaitMs` after it was noticed (the arrival of a packet past
/// it), then skipped. Each missing sequence is reported by `missing(nowMs:)` at most
/// `maxNacks` times, at least `nackIntervalMs` apart.
public struct JitterBuffer<Element: Sendable>: Sendable {
    private enum Slot {
        case empty
        case missing(sequence: UInt64, sinceMs: Int64, nacks: Int, lastNackMs: Int64)
        case filled(sequence: UInt64, element: Element)
    }

    /// Times a missing sequence is NACKed at most.
    public static var maxNacks: Int { 3 }
    /// Milliseconds between two NACKs of one sequence at least.
    public static var nackIntervalMs: Int64 { 20 }

    public let capacity: Int
    public let maxWaitMs: Int64
    private var slots: [Slot]
    /// The next sequence `pop` delivers; nil before the first packet.
    public private(set) var nextSequence: UInt64?
    /// One past the highest sequence inserted.
    private var end: UInt64 = 0
    private var missingCount = 0
    private var filledCount = 0

    /// - Parameters:
    ///   - capacity: packets held at most (and how far ahead of the next due one a packet may be), at least 1.
    ///   - maxWaitMs: how long a gap is waited for before it is skipped (default 150 ms).
    public init(capacity: Int = 512, maxWaitMs: Int64 = 150) {
        self.capacity = max(1, capacity)
        self.maxWaitMs = maxWaitMs
        slots = Array(repeating: .empty, count: self.capacity)
    }

    /// Packets held, waiting to be popped.
    public var count: Int { filledCount }

    private func index(_ sequence: UInt64) -> Int { Int(sequence % UInt64(capacity)) }

    /// Stores a packet. False (not stored) when it is a duplicate, older than the next due, or
    /// `capacity` or more ahead of it while packets are held (an empty buffer starts over at it:
    /// a sender that jumped).
    public mutating func insert(_ element: Element, sequence: UInt64, arrivalMs: Int64) -> Bool {
        guard let next = nextSequence else {
            restart(at: sequence)
            return store(element, sequence: sequence, arrivalMs: arrivalMs)
        }
        guard sequence >= next else { return false }
        if sequence - next >= UInt64(capacity) {
            guard filledCount == 0 else { return false }
            restart(at: sequence)
        }
        return store(element, sequence: sequence, arrivalMs: arrivalMs)
    }

    private mutating func store(_ element: Element, sequence: UInt64, arrivalMs: Int64) -> Bool {
        let slotIndex = index(sequence)
        switch slots[slotIndex] {
        case .filled: return false
        case .missing: missingCount -= 1
        case .empty: break
        }
        if sequence > end {
            markMissing(from: end, to: sequence, sinceMs: arrivalMs)
        }
        slots[slotIndex] = .filled(sequence: sequence, element: element)
        filledCount += 1
        end = max(end, sequence &+ 1)
        return true
    }

    private mutating func restart(at sequence: UInt64) {
        for index in slots.indices { slots[index] = .empty }
        nextSequence = sequence
        end = sequence
        missingCount = 0
        filledCount = 0
    }

    private mutating func markMissing(from start: UInt64, to stop: UInt64, sinceMs: Int64) {
        for sequence in start..<stop {
            slots[index(sequence)] = .missing(sequence: sequence, sinceMs: sinceMs, nacks: 0, lastNackMs: 0)
            missingCount += 1
        }
    }

    /// The packets now deliverable in order: every held one from the next due up to the first
    /// gap still inside its wait; gaps waited for `maxWaitMs` or longer are skipped.
    public mutating func pop(nowMs: Int64) -> [(sequence: UInt64, element: Element)] {
        guard var next = nextSequence else { return [] }
        var out: [(sequence: UInt64, element: Element)] = []
        while next < end {
            let slotIndex = index(next)
            switch slots[slotIndex] {
            case .filled(let sequence, let element):
                out.append((sequence, element))
                filledCount -= 1
            case .missing(_, let sinceMs, _, _):
                guard nowMs - sinceMs >= maxWaitMs else {
                    nextSequence = next
                    return out
                }
                missingCount -= 1
            case .empty:
                break
            }
            slots[slotIndex] = .empty
            next += 1
        }
        nextSequence = next
        return out
    }

    /// Sequence numbers to NACK now: missing ones NACKed fewer than `maxNacks` times and not in
    /// the last `nackIntervalMs`, oldest first. Each returned one counts as NACKed at `nowMs`.
    public mutating func missing(nowMs: Int64) -> [UInt16] {
        guard missingCount > 0, let next = nextSequence else { return [] }
        var due: [UInt16] = []
        for sequence in next..<end {
            let slotIndex = index(sequence)
            guard case .missing(let stored, let sinceMs, let nacks, let lastNackMs) = slots[slotIndex], stored == sequence,
                  nacks < Self.maxNacks, nacks == 0 || nowMs - lastNackMs >= Self.nackIntervalMs else { continue }
            slots[slotIndex] = .missing(sequence: sequence, sinceMs: sinceMs, nacks: nacks + 1, lastNackMs: nowMs)
            due.append(UInt16(truncatingIfNeeded: sequence))
        }
        return due
    }
}
