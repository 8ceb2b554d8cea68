import Foundation

/// Turns what `StreamHealth` finds at each instant into starts and clears: a warning keeps the
/// `since` and message it started with while its condition lasts, so the stored list and the
/// `stream.health` events change only when a warning comes or goes.
public struct StreamHealthTracker: Sendable, Hashable {
    public struct Change: Sendable, Hashable {
        public var warning: HealthWarning
        public var state: StreamHealthChanged.State
    }

    /// The warnings up now, in `Code` order.
    public private(set) var current: [HealthWarning] = []

    /// - Parameter current: warnings already announced for the session (by a worker that had
    ///   it before this one), kept as they are: they are not announced again, and clear when
    ///   their condition is gone.
    public init(current: [HealthWarning] = []) {
        self.current = current
    }

    /// Takes the warnings found now; returns what started and what cleared (empty: no change).
    public mutating func update(_ found: [HealthWarning]) -> [Change] {
        var changes: [Change] = []
        var next: [HealthWarning] = []
        for warning in found {
            if let kept = current.first(where: { $0.code == warning.code }) {
                next.append(kept)
            } else {
                next.append(warning)
                changes.append(Change(warning: warning, state: .started))
            }
        }
        for gone in current where !found.contains(where: { $0.code == gone.code }) {
            changes.append(Change(warning: gone, state: .cleared))
        }
        current = next.sorted { Self.order($0.code) < Self.order($1.code) }
        return changes
    }

    private static func order(_ code: HealthWarning.Code) -> Int {
        HealthWarning.Code.allCases.firstIndex(of: code) ?? 0
    }
}
