/// One STUN attribute as it came off the wire (RFC 8489 §14): its type and its value without
/// the padding to a 4-byte boundary.
public struct STUNAttribute: Sendable, Equatable {
    public var type: UInt16
    public var value: [UInt8]

    public init(type: UInt16, value: [UInt8]) {
        self.type = type
        self.value = value
    }

    /// The attribute types Sluice reads or writes (RFC 8489 §18.3, RFC 8445 §16.1).
    public enum Kind {
        public static let mappedAddress: UInt16 = 0x0001
        public static let username: UInt16 = 0x0006
        public static let messageIntegrity: UInt16 = 0x0008
        public static let errorCode: UInt16 = 0x0009
        public static let xorMappedAddress: UInt16 = 0x0020
        public static let priority: UInt16 = 0x0024
        public static let useCandidate: UInt16 = 0x0025
        public static let software: UInt16 = 0x8022
        public static let fingerprint: UInt16 = 0x8028
        public static let iceControlled: UInt16 = 0x8029
        public static let iceControlling: UInt16 = 0x802A
    }
}

/// The few byte sequences STUN attributes reuse.
extension Array where Element == UInt8 {
    /// The big-endian unsigned integer in `self` (at most 8 bytes), or nil when the size differs.
    func bigEndianInteger<T: FixedWidthInteger & UnsignedInteger>(as: T.Type = T.self) -> T? {
        guard count == MemoryLayout<T>.size else { return nil }
        return reduce(T.zero) { ($0 << 8) | T($1) }
    }
}
