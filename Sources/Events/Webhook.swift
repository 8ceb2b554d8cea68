import Foundation

/// Where a webhook worker POSTs events: a channel's own list (`webhooks`) or the global list.
public struct Webhook: Codable, Sendable, Hashable {
    /// `http://` or `https://` receiver.
    public var url: String
    /// Event types to send; `nil` (left out): every type.
    public var events: [String]?

    public init(url: String, events: [String]? = nil) {
        self.url = url
        self.events = events
    }

    /// Everything a webhook can receive. `recording.ready` and `snapshot.ready` stand for
    /// `asset.created` of recordings (MP4, VOD playlists, motion clips) and of pictures.
    public static let eventTypes = ["stream.online", "stream.offline", "publish.rejected", "relay.started", "relay.failed",
                                    "motion.started", "motion.ended", "recording.ready", "snapshot.ready", "stream.health"]

    public static let maxCount = 10

    public func wants(_ type: String) -> Bool { events?.contains(type) ?? true }

    /// Problems with a list of webhooks, with field paths under `field` (`webhooks[0].url`).
    public static func validationErrors(_ hooks: [Webhook], field: String) -> [FieldError] {
        var errors: [FieldError] = []
        if hooks.count > maxCount { errors.append(FieldError(field, "must have at most \(maxCount) entries")) }
        for (index, hook) in hooks.enumerated() {
            let url = URLComponents(string: hook.url)
            if !["http", "https"].contains(url?.scheme?.lowercased() ?? "") || (url?.host ?? "").isEmpty || hook.url.count > 2048 {
                errors.append(FieldError("\(field)[\(index)].url", "must be an http:// or https:// URL"))
            }
            if let events = hook.events, events.isEmpty || !events.allSatisfy(eventTypes.contains) {
                errors.append(FieldError("\(field)[\(index)].events",
                                         "must be left out (every event) or name some of " + eventTypes.joined(separator: ", ")))
            }
        }
        let floor = destinationErrors(hooks, field: field, policy: .alwaysRefusedOnly)
        return errors + floor.filter { refused in !errors.contains { $0.field == refused.field } }
    }

    /// Receivers whose host `policy` refuses before any lookup (see `DestinationPolicy.validate(urlString:)`),
    /// with field paths under `field`.
    public static func destinationErrors(_ hooks: [Webhook], field: String, policy: DestinationPolicy) -> [FieldError] {
        hooks.enumerated().compactMap { index, hook in
            guard case .failure(let refusal) = policy.validate(urlString: hook.url) else { return nil }
            return FieldError("\(field)[\(index)].url", refusal.fieldMessage)
        }
    }
}

/// `webhook.deadletter` on `sluice.webhooks.deadletter`: an event a receiver did not accept in
/// any of its attempts, parked with the body that was sent, for an operator to look at or replay.
public struct WebhookDeadLetter: Codable, Sendable, Hashable {
    public var url: String
    public var eventType: String
    /// The event's id (`X-Sluice-Delivery`), the same in every attempt.
    public var eventID: String
    public var streamID: String
    public var attempts: Int
    public var lastError: String
    /// The JSON body every attempt sent.
    public var body: String

    public init(url: String, eventType: String, eventID: String, streamID: String, attempts: Int, lastError: String, body: String) {
        self.url = url
        self.eventType = eventType
        self.eventID = eventID
        self.streamID = streamID
        self.attempts = attempts
        self.lastError = lastError
        self.body = body
    }

    enum CodingKeys: String, CodingKey {
        case url, eventType, eventID = "eventId", streamID = "streamId", attempts, lastError, body
    }
}
