import Foundation

/// One thing wrong with a live stream, as `StreamHealth` finds it: shown on the stream in the
/// API (`health`), kept in session state, and announced by `stream.health` when it starts or clears.
public struct HealthWarning: Codable, Sendable, Hashable {
    public enum Code: String, Codable, Sendable, Hashable, CaseIterable {
        /// Keyframes further apart than the limit (4 s): players join and LL-HLS parts wait for them.
        case keyframeInterval = "keyframe-interval"
        /// B-frames (video pts ≠ dts) on a channel with a low-latency output (LL-HLS).
        case bFrames = "b-frames"
        /// The ingest bitrate fell under a quarter of its 30 s median for 5 s.
        case bitrateCollapse = "bitrate-collapse"
        /// A video or audio dts jumped forward or back by more than a second.
        case timestampJump = "timestamp-jump"
        /// Video without audio for more than 5 s.
        case audioMissing = "audio-missing"
        /// The channel (so its push URL) expires within a week.
        case pushURLExpiring = "push-url-expiring"
    }

    public enum Severity: String, Codable, Sendable, Hashable, Comparable {
        /// Worth knowing; may be intended (a stream that never had audio).
        case info
        /// Viewers are or will be affected.
        case warning
        /// Viewers are affected now.
        case critical

        public static func < (lhs: Severity, rhs: Severity) -> Bool {
            let order: [Severity] = [.info, .warning, .critical]
            return order.firstIndex(of: lhs)! < order.firstIndex(of: rhs)!
        }
    }

    public var code: Code
    public var severity: Severity
    /// A sentence for an operator: what was seen and what to do.
    public var message: String
    /// When the warning started (it stays this while the condition lasts).
    public var since: Date

    public init(code: Code, severity: Severity, message: String, since: Date) {
        self.code = code
        self.severity = severity
        self.message = message
        self.since = since
    }
}

/// `stream.health`: a warning of a live stream started or cleared. `warnings` is the stream's
/// whole list after the change, so a receiver needs no history to know where the stream stands.
public struct StreamHealthChanged: Codable, Sendable, Hashable {
    public enum State: String, Codable, Sendable, Hashable {
        case started, cleared
    }

    public var streamID: StreamID
    public var sessionID: UInt64
    public var code: HealthWarning.Code
    public var state: State
    public var severity: HealthWarning.Severity
    /// The warning's message (when cleared: the last one it had).
    public var message: String
    /// When the warning started.
    public var since: Date
    public var warnings: [HealthWarning]

    public init(streamID: StreamID, sessionID: UInt64, warning: HealthWarning, state: State, warnings: [HealthWarning]) {
        self.streamID = streamID
        self.sessionID = sessionID
        code = warning.code
        self.state = state
        severity = warning.severity
        message = warning.message
        since = warning.since
        self.warnings = warnings
    }

    enum CodingKeys: String, CodingKey {
        case streamID = "streamId", sessionID = "sessionId", code, state, severity, message, since, warnings
    }
}
