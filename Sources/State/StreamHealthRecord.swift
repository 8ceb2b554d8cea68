import Events
import Foundation

/// A stream's health warnings as session state keeps them: the publish session they belong to,
/// so a reader never shows a finished session's warnings on the next one.
public struct StreamHealthRecord: Codable, Sendable, Hashable {
    public var sessionID: UInt64
    public var warnings: [HealthWarning]

    public init(sessionID: UInt64, warnings: [HealthWarning]) {
        self.sessionID = sessionID
        self.warnings = warnings
    }
}
