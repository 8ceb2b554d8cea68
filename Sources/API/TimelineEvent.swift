import Events
import Foundation

/// One entry of a channel's events timeline (`GET /api/v1/channels/{id}/events`): what happened,
/// when, a sentence for the console, and the event's own data.
struct TimelineEvent: Codable, Sendable, Hashable {
    /// Where the event sits in the log: a topic letter (`l` lifecycle, `a` assets, `w` webhook
    /// dead letters), the Kafka partition and a dot (in a cluster), and the offset. The same on
    /// every node of a cluster and across restarts of a single machine.
    var id: String
    /// The event's type as the bus and webhooks name it (`stream.online`, `recording.ready`,
    /// `webhook.failed`, …).
    var type: String
    var at: Date
    var summary: String
    /// The event's data (a dead letter's without the body it carried).
    var detail: JSONValue

    /// The order of the timeline: time, then id.
    var position: TimelinePosition { TimelinePosition(milliseconds: Self.milliseconds(at), id: id) }

    static func milliseconds(_ date: Date) -> Int64 {
        Int64(exactly: (date.timeIntervalSince1970 * 1000).rounded(.down)) ?? 0
    }
}

extension TimelineEvent {
    /// A lifecycle event (`sluice.stream.lifecycle`).
    init(id: String, at: Date, _ event: LifecycleEvent) {
        let detail: JSONValue
        switch event {
        case .online(let data): detail = Self.json(data)
        case .offline(let data): detail = Self.json(data)
        case .publishRejected(let data): detail = Self.json(data)
        case .relayStarted(let data), .relayFailed(let data): detail = Self.json(data)
        case .motionStarted(let data), .motionEnded(let data): detail = Self.json(data)
        case .health(let data): detail = Self.json(data)
        }
        self.init(id: id, type: event.type, at: at, summary: Self.summary(of: event), detail: detail)
    }

    /// A stored asset (`sluice.assets`), named as webhooks name it: `snapshot.ready` for pictures,
    /// `recording.ready` for the rest.
    init(id: String, at: Date, _ asset: AssetCreated) {
        let picture = ["snapshot", "motion-snapshot"].contains(asset.kind)
        let summary = picture ? "Snapshot stored (\(asset.kind))"
            : "Recording stored: \(asset.kind), \(Self.duration(asset.duration))"
        self.init(id: id, type: picture ? "snapshot.ready" : "recording.ready", at: at, summary: summary, detail: Self.json(asset))
    }

    /// A webhook no attempt delivered (`sluice.webhooks.deadletter`).
    init(id: String, at: Date, _ letter: WebhookDeadLetter) {
        var shown = letter
        shown.body = ""
        var detail = Self.json(shown)
        if case .object(var fields) = detail {
            fields["body"] = nil
            detail = .object(fields)
        }
        self.init(id: id, type: "webhook.failed", at: at,
                  summary: "Webhook \(letter.eventType) to \(letter.url) failed after \(letter.attempts) attempt"
                      + "\(letter.attempts == 1 ? "" : "s"): \(letter.lastError)",
                  detail: detail)
    }

    static func summary(of event: LifecycleEvent) -> String {
        switch event {
        case .online(let data): return "Went live from \(data.client) over \(data.protocolName.uppercased())"
        case .offline(let data): return "Went offline: \(reason(data.reason)), after \(duration(data.durationSeconds))"
        case .publishRejected(let data): return "Publish refused: \(data.reason) (\(data.code), from \(data.client))"
        case .relayStarted(let data): return "Relay started to \(data.destination)"
        case .relayFailed(let data): return "Relay to \(data.destination) failed: \(data.error ?? "no reason given")"
        case .motionStarted(let data): return "Motion started (\(Int(data.changedPercent.rounded()))% of the picture changed)"
        case .motionEnded(let data): return "Motion ended after \(duration(data.durationSeconds ?? 0))"
        case .health(let data):
            return data.state == .started ? "Health \(data.severity.rawValue): \(data.message)" : "Health cleared: \(data.code.rawValue)"
        }
    }

    static func reason(_ reason: StreamOffline.Reason) -> String {
        switch reason {
        case .unpublished: return "the encoder stopped publishing"
        case .disconnected: return "publisher disconnected"
        case .stopped: return "stopped by an operator or the server"
        case .protocolError: return "the encoder sent data the server could not accept"
        case .nodeLost: return "the ingest node was lost"
        }
    }

    /// "42 s", "3 min 5 s", "2 h 1 min"; a value that is not a finite, sane number reads "?".
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0, seconds < 1e9 else { return "?" }
        let whole = Int(seconds.rounded())
        if whole < 60 { return "\(whole) s" }
        if whole < 3600 { return "\(whole / 60) min \(whole % 60) s" }
        return "\(whole / 3600) h \(whole % 3600 / 60) min"
    }

    static func json<T: Encodable>(_ value: T) -> JSONValue {
        (try? ChannelJSON.value(of: value)) ?? .null
    }
}

/// Where an event sits in a timeline, and what a page cursor names: newer is larger.
struct TimelinePosition: Comparable, Sendable, Hashable {
    var milliseconds: Int64
    var id: String

    static func < (lhs: TimelinePosition, rhs: TimelinePosition) -> Bool {
        (lhs.milliseconds, lhs.id) < (rhs.milliseconds, rhs.id)
    }

    /// The opaque cursor: base64url of `{milliseconds}~{id}`.
    var cursor: String {
        Data("\(milliseconds)~\(id)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Reads a cursor this type wrote; nil for anything else (too long, not base64url, a time out
    /// of range, an id with other characters than `[a-z0-9.]`).
    init?(cursor: String) {
        guard (4...96).contains(cursor.utf8.count),
              cursor.utf8.allSatisfy({ $0.isBase64URL }) else { return nil }
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else { return nil }
        let parts = text.split(separator: "~", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count <= 15, let milliseconds = Int64(parts[0]), milliseconds >= 0,
              (1...40).contains(parts[1].utf8.count),
              parts[1].utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E }) else { return nil }
        self.init(milliseconds: milliseconds, id: String(parts[1]))
    }

    init(milliseconds: Int64, id: String) {
        self.milliseconds = milliseconds
        self.id = id
    }
}

extension UInt8 {
    fileprivate var isBase64URL: Bool {
        (self >= 0x41 && self <= 0x5A) || (self >= 0x61 && self <= 0x7A) || (self >= 0x30 && self <= 0x39) || self == 0x2D || self == 0x5F
    }
}
