/// A line that is not an attribute or a media line: `o=`, `s=`, `c=`, `b=`, `t=`… (RFC 8866 §5),
/// kept as written so a description reads back the same.
public struct SDPField: Sendable, Equatable {
    /// The line's type letter (`"o"`, `"c"`, …).
    public var type: Character
    /// The text after `=`.
    public var value: String

    public init(type: Character, value: String) {
        self.type = type
        self.value = value
    }

    /// The type letters RFC 8866 §5 defines for the session level (`m` and `a` are handled apart).
    static let sessionTypes: Set<Character> = ["v", "o", "s", "i", "u", "e", "p", "c", "b", "t", "r", "z", "k"]
    /// The type letters RFC 8866 §5 allows inside a media description besides `a`.
    static let mediaTypes: Set<Character> = ["i", "c", "b", "k"]

    /// The `v=`, `o=`, `s=` and `t=` lines Sluice writes (RFC 8866 §5.1–5.3, §5.9): `o=- <id> 2 IN
    /// IP4 127.0.0.1` with the id a hash of `seed` (a ufrag), so the same options write the same text.
    static func sessionHeader(seed: String) -> [SDPField] {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in seed.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return [
            SDPField(type: "v", value: "0"),
            SDPField(type: "o", value: "- \(hash & 0x3FFF_FFFF_FFFF_FFFF) 2 IN IP4 127.0.0.1"),
            SDPField(type: "s", value: "-"),
            SDPField(type: "t", value: "0 0"),
        ]
    }
}
