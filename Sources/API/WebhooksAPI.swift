import Events
import Foundation
import NIOHTTP1
import State

/// `/api/v1/webhooks…`: the global webhook list with the signing secret (admin), and the recent
/// deliveries (this node's, or the cluster's with PostgreSQL) (any key; non-admin keys see only where each went, not the URL, whose
/// path and query often hold a receiver's token).
public struct WebhooksAPI: Sendable {
    let settings: any WebhookSettingsStore
    let deliveries: any WebhookDeliveryStore
    /// Where receivers may be (`--allow-destination`).
    let destinations: DestinationPolicy
    /// Told after the list is stored: the composition sends `settings.reload`, so every node's
    /// webhook worker uses it now instead of after its next periodic reload.
    let changed: @Sendable () -> Void

    public init(settings: any WebhookSettingsStore, deliveries: any WebhookDeliveryStore, destinations: DestinationPolicy = .init(),
                changed: @escaping @Sendable () -> Void = {}) {
        self.changed = changed
        self.settings = settings
        self.deliveries = deliveries
        self.destinations = destinations
    }

    struct Update: Decodable {
        var webhooks: [Webhook]
    }

    /// Deliveries reach keys below admin redacted.
    func answer(_ endpoint: APIEndpoint.Webhooks, _ request: APIRequest, scope: APIKeyScope) async -> APIResponse {
        await ChannelsAPI.answering {
            switch endpoint {
            case .show: return .json(settings.current)
            case .replace: return try await replace(request)
            case .deliveries:
                let recent = try await deliveries.recent()
                return .json(["items": scope == .admin ? recent : recent.map(Self.redacted)])
            }
        }
    }

    private func replace(_ request: APIRequest) async throws -> APIResponse {
        guard request.headers.first(name: "Content-Type")?.lowercased().hasPrefix("application/json") == true else {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type", message: "Send the body as application/json.")
        }
        guard let body = request.body, let update = try? ChannelJSON.decoder.decode(Update.self, from: Data(body.readableBytesView))
        else { throw APIError(.badRequest, code: "invalid_json", message: "Send {webhooks: [{url, events?}]}.") }
        let invalid = Webhook.validationErrors(update.webhooks, field: "webhooks")
        guard invalid.isEmpty else {
            throw APIError(.badRequest, code: "invalid_fields", message: "Some fields are not valid.", fields: invalid)
        }
        // Destination policy: receivers on refused literals (loopback, private …) are a 400.
        let refused = Webhook.destinationErrors(update.webhooks, field: "webhooks", policy: destinations)
        guard refused.isEmpty else {
            throw APIError(.badRequest, code: "invalid_fields", message: "Some destinations are refused by the destination policy.",
                           fields: refused)
        }
        do {
            try await settings.setWebhooks(update.webhooks)
        } catch {
            throw APIError.unavailable("The store failed", error)
        }
        changed()
        return .json(settings.current)
    }

    /// A delivery with its URL as `scheme://host[:port]/…redacted`, also where its error quotes it.
    static func redacted(_ delivery: WebhookDelivery) -> WebhookDelivery {
        var shown = delivery
        shown.url = ChannelRedaction.webhookURL(delivery.url)
        shown.error = delivery.error?.replacingOccurrences(of: delivery.url, with: shown.url)
        return shown
    }
}
