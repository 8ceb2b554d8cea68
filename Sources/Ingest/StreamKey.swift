import Events

/// A stream key as an encoder sends it: the stream id and its signature. Its description
/// redacts the signature, so logging a key never leaks a credential.
public struct StreamKey: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var sign: String?

    public init(name: String, sign: String?) {
        self.name = name
        self.sign = sign
    }

    public var description: String { sign == nil ? name : "\(name)?sign=<redacted>" }
}
