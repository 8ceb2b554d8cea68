import Crypto
import Events
import Foundation
import Media
import NIOConcurrencyHelpers

/// The global webhook list and the secret every webhook body is signed with.
public struct WebhookSettings: Codable, Sendable, Hashable {
    public var webhooks: [Webhook]
    /// HMAC-SHA256 key of `X-Sluice-Signature`; receivers verify with it.
    public var signingSecret: String

    public init(webhooks: [Webhook] = [], signingSecret: String) {
        self.webhooks = webhooks
        self.signingSecret = signingSecret
    }

    /// `t={unix seconds},v1={hex HMAC-SHA256 of "{t}.{body}"}`: the timestamp is signed with
    /// the body, so a captured request cannot be replayed later with a fresh time.
    public func signature(of body: [UInt8], at time: Date) -> String {
        let seconds = Int64(time.timeIntervalSince1970)
        let key = SymmetricKey(data: Array(signingSecret.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(seconds).".utf8) + body, using: key)
        return "t=\(seconds),v1=\(Hex.encode(mac))"
    }
}

/// Webhook settings in the single-machine database (the signing secret made once), with a copy
/// in memory for the worker.
public final class SQLiteWebhookSettingsStore: WebhookSettingsStore {
    private let setting: StoredSetting<WebhookSettings>

    public init(database: SQLiteDatabase) async throws {
        setting = try await StoredSetting(database: database, key: "webhooks") {
            (WebhookSettings(signingSecret: "whsec_" + Hex.random(byteCount: 24)), true)
        }
    }

    public var current: WebhookSettings { setting.value }

    /// Reads what another process (a cluster node on the same database) may have saved.
    public func reload() async throws { try await setting.reload() }

    /// Replaces the global list; the secret stays.
    public func setWebhooks(_ webhooks: [Webhook]) async throws {
        var settings = current
        settings.webhooks = webhooks
        try await setting.save(settings)
    }
}

/// One webhook delivery as the console lists it.
public struct WebhookDelivery: Codable, Sendable, Hashable {
    public enum Status: String, Codable, Sendable {
        case delivered
        /// Failed so far; another attempt is coming.
        case retrying
        /// Every attempt failed; parked on `sluice.webhooks.deadletter`.
        case failed
    }

    public var eventID: String
    public var eventType: String
    public var streamID: String
    public var url: String
    public var status: Status
    public var attempts: Int
    /// The receiver's HTTP status of the last attempt, if it answered.
    public var httpStatus: Int?
    public var error: String?
    public var updatedAt: Date

    public init(eventID: String, eventType: String, streamID: String, url: String, status: Status, attempts: Int,
                httpStatus: Int? = nil, error: String? = nil, updatedAt: Date = Date()) {
        self.eventID = eventID
        self.eventType = eventType
        self.streamID = streamID
        self.url = url
        self.status = status
        self.attempts = attempts
        self.httpStatus = httpStatus
        self.error = error
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case eventID = "eventId", eventType, streamID = "streamId", url, status, attempts, httpStatus, error, updatedAt
    }
}

/// The most recent deliveries of this node, in memory, newest first (one entry per event and
/// receiver, updated as its attempts go). The newest `capacity` are kept per event type, so a
/// stream that takes a snapshot every second does not push its `stream.online` and
/// `stream.offline` deliveries out of the list.
public final class WebhookDeliveryLog: WebhookDeliveryStore {
    /// Written by every delivery task, read by the API; `record` and `recent` never suspend, so a lock.
    private let entries = NIOLockedValueBox([WebhookDelivery]())
    private let capacity: Int

    /// - Parameter capacity: deliveries kept per event type (default 200).
    public init(capacity: Int = 200) {
        self.capacity = max(1, capacity)
    }

    public func record(_ delivery: WebhookDelivery) {
        entries.withLockedValue { entries in
            entries.removeAll { $0.eventID == delivery.eventID && $0.url == delivery.url }
            entries.insert(delivery, at: 0)
            if let oldest = entries.lastIndex(where: { $0.eventType == delivery.eventType }),
               entries.lazy.filter({ $0.eventType == delivery.eventType }).count > capacity {
                entries.remove(at: oldest)
            }
        }
    }

    public func recent() -> [WebhookDelivery] { entries.withLockedValue { $0 } }
}
