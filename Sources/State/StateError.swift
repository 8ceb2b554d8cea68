/// Errors of the state layer: session state and the channel store.
public struct StateError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// No such record.
        case notFound
        /// The write named a revision that is no longer current (an `If-Match` that lost a race).
        case staleRevision
        /// A record with that id exists already.
        case conflict
        /// The record does not validate.
        case invalid
        /// The storage failed (disk, database, connection).
        case storage
    }

    public var code: Code
    public var context: String

    public init(_ code: Code, _ context: String) {
        self.code = code
        self.context = context
    }

    public var description: String { "state \(code.rawValue): \(context)" }
}
