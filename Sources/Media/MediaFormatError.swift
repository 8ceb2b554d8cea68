/// Why bytes could not be read as a media format. Thrown by every decoder in `Media`.
public struct MediaFormatError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case truncated
        case unknownMarker
        case tooDeep
        case tooLarge
        case invalidUTF8
        case unsupported
        case malformed
    }

    public var code: Code
    public var context: String

    public init(_ code: Code, _ context: String) {
        self.code = code
        self.context = context
    }

    public var description: String { "\(code.rawValue): \(context)" }
}
