/// Errors of the event layer: the bus, its codecs and its records.
public struct EventBusError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case malformedRecord
        case unsupportedVersion
        case unknownEventType
        case closed
        case queueFull
        /// The broker (or the bus's client) cannot take or give records now.
        case unavailable
    }

    public var code: Code
    public var context: String

    public init(_ code: Code, _ context: String) {
        self.code = code
        self.context = context
    }

    public var description: String { "event bus \(code.rawValue): \(context)" }
}
