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
}
