/// 16-bit RTP sequence numbers made into a 64-bit count that keeps growing across wraps
/// (RFC 3550 A.1's cycle count): a number within 32767 after the highest seen is ahead of it,
/// one within 32768 before it is behind.
///
/// The first number unwraps to 65536 + itself, so packets reordered ahead of it stay positive.
public struct SequenceUnwrapper: Sendable {
    private var highest: UInt64?

    public init() {}

    /// The unwrapped value of `sequence` relative to the highest seen so far.
    public mutating func unwrap(_ sequence: UInt16) -> UInt64 {
        guard let highest else {
            let first = (1 << 16) + UInt64(sequence)
            self.highest = first
            return first
        }
        let delta = Int64(Int16(bitPattern: sequence &- UInt16(truncatingIfNeeded: highest)))
        let value = UInt64(Int64(highest) + delta)
        if value > highest { self.highest = value }
        return value
    }
}
