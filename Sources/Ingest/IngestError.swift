/// Errors of the ingest service.
public struct IngestError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case bindFailed
        case invalidConfiguration
    }

    public var code: Code
    public var context: String

    public init(_ code: Code, _ context: String) {
        self.code = code
        self.context = context
    }

    public var description: String { "ingest \(code.rawValue): \(context)" }
}
