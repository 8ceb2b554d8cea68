/// A number read from a packaged resource's name or a playlist query — a media sequence number,
/// a part index, a session's re-initialisation count — bounded to 0…UInt32.max where it enters,
/// so everything after it does plain arithmetic (2³² two-second segments are 272 years).
///
/// Only the canonical decimal form is read: ASCII digits, no sign, no leading zero, at most ten
/// digits. Sluice writes names that way, so anything else was not made by Sluice.
public struct SegmentNumber: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32

    public init(_ rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// Nil for anything but the canonical decimal form of a value in 0…UInt32.max.
    public init?(parsing text: Substring) {
        let digits = text.utf8
        guard (1...10).contains(digits.count), digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              digits.first != UInt8(ascii: "0") || digits.count == 1 else { return nil }
        // Ten digits stay below 10¹⁰, far inside UInt64.
        let value = digits.reduce(UInt64(0)) { $0 * 10 + UInt64($1 - UInt8(ascii: "0")) }
        guard let bounded = UInt32(exactly: value) else { return nil }
        rawValue = bounded
    }

    /// Nil outside 0…UInt32.max: for numbers made in code rather than parsed.
    public init?(exactly value: Int) {
        guard let bounded = UInt32(exactly: value) else { return nil }
        rawValue = bounded
    }

    public var value: Int { Int(rawValue) }
    public var description: String { String(rawValue) }

    public static func < (lhs: SegmentNumber, rhs: SegmentNumber) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Whether `value` is one a name or query could carry.
    static func isInRange(_ value: Int) -> Bool { UInt32(exactly: value) != nil }
}
