/// The identifier of a live stream: the `{id}` in `rtmp://HOST/stream/{id}` and `/{id}/live.flv`.
///
/// 1–128 characters of `A–Z a–z 0–9 - _ .`, not starting with a dot, so that it is safe in a
/// URL path, a file name, a Kafka key and a Redis key without escaping.
///
/// This is the one place stream ids are canonicalised: a name that is a UUID in any case (a
/// channel's id) becomes `ChannelID`'s lowercase spelling, so the access policy, packaging,
/// relays and recording all look up the same channel for `ABC…` as for `abc…`. Every other id
/// is kept as sent (`Cam1` and `cam1` are two streams).
public struct StreamID: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    /// The canonical spelling.
    public let rawValue: String

    public init?(_ rawValue: String) {
        guard (1...128).contains(rawValue.utf8.count), !rawValue.hasPrefix("."),
              rawValue.utf8.allSatisfy(Self.isAllowed) else { return nil }
        self.rawValue = ChannelID(rawValue)?.description ?? rawValue
    }

    /// The channel this stream is, when its id is a channel's.
    public var channelID: ChannelID? { ChannelID(rawValue) }

    public var description: String { rawValue }

    public static func < (lhs: StreamID, rhs: StreamID) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard let id = StreamID(raw) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "invalid stream id"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
            return true
        default:
            return false
        }
    }
}
