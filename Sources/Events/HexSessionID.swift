/// A publish session id as JSON carries it: 16 lowercase hex digits (as segment names carry it),
/// because JSON numbers lose 64-bit precision in JavaScript.
@propertyWrapper
public struct HexSessionID: Codable, Sendable, Hashable {
    public var wrappedValue: UInt64

    public init(wrappedValue: UInt64) {
        self.wrappedValue = wrappedValue
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let value = UInt64(try container.decode(String.self), radix: 16) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "a session id is 16 hex digits")
        }
        wrappedValue = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Self.text(wrappedValue))
    }

    /// 16 lowercase hex digits.
    public static func text(_ session: UInt64) -> String {
        let digits = String(session, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
