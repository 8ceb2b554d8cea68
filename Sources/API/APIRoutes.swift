import NIOHTTP1
import State

/// Every route under `/api/v1` and `/videostream`. The router serves nothing that is not here,
/// and the OpenAPI document and docs/SCOPES.md are generated from it, so they cannot drift apart.
///
/// Scopes: anything that hands out a credential needs a read-write key (push URLs, signed play
/// URLs, a rotated secret); keys, settings and the global webhooks need the admin key. What a
/// route shows a weaker key is in `redacted`.
struct APIRoute: Equatable, Sendable {
    enum Access: String, Equatable, Sendable {
        /// Any valid key.
        case read
        /// A read-write or admin key.
        case write
        /// The admin key.
        case admin
        /// No key (the OpenAPI document itself).
        case open

        /// The weakest key scope that may call the route, as docs name it.
        var scope: String {
            switch self {
            case .read: return "read-only"
            case .write: return "read-write"
            case .admin: return "admin"
            case .open: return "none"
            }
        }
    }

    /// What the route does; the router hands it to the API type that serves it.
    var endpoint: APIEndpoint
    var method: HTTPMethod
    /// `/api/v1/channels/{id}`: `{…}` segments match one path segment.
    var template: PathTemplate
    var summary: String
    var access: Access
    /// Schema names (see `OpenAPIDocument.schemas`).
    var request: String?
    var response: String?
    var status: Int
    /// What the answer hides from keys below admin; nil: nothing.
    var redacted: String?

    init(_ endpoint: APIEndpoint, _ method: HTTPMethod, _ path: String, summary: String, access: Access,
         request: String? = nil, response: String? = nil, status: Int, redacted: String? = nil) {
        self.endpoint = endpoint
        self.method = method
        template = PathTemplate(path)
        self.summary = summary
        self.access = access
        self.request = request
        self.response = response
        self.status = status
        self.redacted = redacted
    }

    /// The path as the table writes it.
    var path: String { template.text }
}

extension APIRoute.Access {
    /// Whether a key of `scope` may call a route with this access.
    func allows(_ scope: APIKeyScope) -> Bool {
        switch self {
        case .read, .open: return true
        case .write: return scope.canWrite
        case .admin: return scope == .admin
        }
    }
}

enum APIRoutes {
    private static let channelSecrets = "relays[].url (stream key, query), webhooks[].url and admissionURL (path, query), srt.passphrase (all of it)"
    private static let seedSecrets = "relayURL (stream key, query); key (the push sign) is left out for read-only keys"
    private static let relayStates = "destination shows no part of the stream key, to any key"

    static let all: [APIRoute] = [
        APIRoute(.openAPI, .GET, "/api/v1/openapi.json", summary: "This document", access: .open, status: 200),
        APIRoute(.channels(.list), .GET, "/api/v1/channels", summary: "List channels (query: name, limit, after)",
                 access: .read, response: "ChannelList", status: 200, redacted: channelSecrets),
        APIRoute(.channels(.create), .POST, "/api/v1/channels", summary: "Create a channel", access: .write,
                 request: "Channel", response: "Channel", status: 201, redacted: channelSecrets),
        APIRoute(.channel(.show), .GET, "/api/v1/channels/{id}", summary: "Show a channel", access: .read,
                 response: "Channel", status: 200, redacted: channelSecrets),
        APIRoute(.channel(.change), .PATCH, "/api/v1/channels/{id}", summary: "Change fields (merge patch; If-Match)",
                 access: .write, request: "Channel", response: "Channel", status: 200, redacted: channelSecrets),
        APIRoute(.channel(.replace), .PUT, "/api/v1/channels/{id}", summary: "Replace a channel's settings (If-Match)",
                 access: .write, request: "Channel", response: "Channel", status: 200, redacted: channelSecrets),
        APIRoute(.channel(.delete), .DELETE, "/api/v1/channels/{id}", summary: "Delete a channel (If-Match)",
                 access: .write, status: 204),
        APIRoute(.channel(.events), .GET, "/api/v1/channels/{id}/events",
                 summary: "The channel's events, newest first (query: limit 1-200, default 50; before: a page's next)",
                 access: .read, response: "EventTimeline", status: 200),
        APIRoute(.channel(.pushURL), .POST, "/api/v1/channels/{id}/push-url",
                 summary: "The stable signed push URL (body {expiresIn} or {expiresAt}: a short-lived one)",
                 access: .write, request: "PushURLRequest", response: "PushURL", status: 200),
        APIRoute(.channel(.playURLs), .GET, "/api/v1/channels/{id}/play-urls", summary: "Play URLs of enabled outputs",
                 access: .read, response: "PlayURLs", status: 200),
        APIRoute(.channel(.signPlayURLs), .POST, "/api/v1/channels/{id}/play-url", summary: "Signed play URLs",
                 access: .write, request: "PlayURLRequest", response: "PlayURL", status: 200),
        APIRoute(.channel(.rotateSecret), .POST, "/api/v1/channels/{id}/rotate-secret", summary: "Rotate the push secret",
                 access: .write, response: "Channel", status: 200, redacted: channelSecrets),
        APIRoute(.channel(.setWatermarkImage), .PUT, "/api/v1/channels/{id}/watermark-image",
                 summary: "Upload the watermark image (body: image/png or image/jpeg, at most 1 MiB)", access: .write,
                 request: "WatermarkImage", response: "Channel", status: 200, redacted: channelSecrets),
        APIRoute(.channel(.watermarkImage), .GET, "/api/v1/channels/{id}/watermark-image", summary: "The watermark image",
                 access: .read, response: "WatermarkImage", status: 200),
        APIRoute(.channel(.removeWatermarkImage), .DELETE, "/api/v1/channels/{id}/watermark-image", summary: "Remove the watermark image",
                 access: .write, status: 204),
        APIRoute(.assets, .GET, "/api/v1/assets",
                 summary: "Recordings, snapshots and clips, newest first (query: channel, stream, kind, from, to, limit, after)",
                 access: .read, response: "AssetList", status: 200),
        APIRoute(.asset(.show), .GET, "/api/v1/assets/{id}", summary: "One asset, with its download URL", access: .read,
                 response: "Asset", status: 200),
        APIRoute(.asset(.content), .GET, "/api/v1/assets/{id}/content", summary: "An asset's bytes (byte ranges)", access: .read,
                 response: "AssetContent", status: 200),
        APIRoute(.asset(.delete), .DELETE, "/api/v1/assets/{id}", summary: "Delete an asset and its file", access: .write, status: 204),
        APIRoute(.streams, .GET, "/api/v1/streams", summary: "Live streams", access: .read,
                 response: "StreamList", status: 200),
        APIRoute(.stream(.show), .GET, "/api/v1/streams/{id}", summary: "One live stream", access: .read,
                 response: "LiveStream", status: 200),
        APIRoute(.stream(.relays), .GET, "/api/v1/streams/{id}/relays", summary: "Relay states of a live stream",
                 access: .read, response: "RelayList", status: 200, redacted: relayStates),
        APIRoute(.stream(.history), .GET, "/api/v1/streams/{id}/history",
                 summary: "One-second samples of a stream's last hour, oldest first (query: seconds, 1-3600, default 300)",
                 access: .read, response: "StreamHistory", status: 200),
        APIRoute(.stream(.stop), .DELETE, "/api/v1/streams/{id}", summary: "Stop the publisher", access: .write,
                 status: 204),
        APIRoute(.settings(.show), .GET, "/api/v1/settings", summary: "URL bases", access: .read,
                 response: "Settings", status: 200),
        APIRoute(.settings(.replace), .PUT, "/api/v1/settings", summary: "Set URL bases", access: .admin,
                 request: "Settings", response: "Settings", status: 200),
        APIRoute(.keys(.list), .GET, "/api/v1/keys", summary: "List API keys", access: .admin,
                 response: "KeyList", status: 200),
        APIRoute(.keys(.create), .POST, "/api/v1/keys", summary: "Make an API key (shown once)", access: .admin,
                 request: "NewKey", response: "CreatedKey", status: 201),
        APIRoute(.revokeKey, .DELETE, "/api/v1/keys/{id}", summary: "Revoke an API key", access: .admin, status: 204),
        APIRoute(.webhooks(.show), .GET, "/api/v1/webhooks", summary: "Global webhooks and the signing secret", access: .admin,
                 response: "WebhookSettings", status: 200),
        APIRoute(.webhooks(.replace), .PUT, "/api/v1/webhooks", summary: "Replace the global webhooks", access: .admin,
                 request: "WebhookUpdate", response: "WebhookSettings", status: 200),
        APIRoute(.webhooks(.deliveries), .GET, "/api/v1/webhooks/deliveries", summary: "Recent webhook deliveries of this node, newest first",
                 access: .read, response: "WebhookDeliveryList", status: 200,
                 redacted: "URLs (only scheme, host and port are shown)"),
        APIRoute(.streamEvents, .GET, "/api/v1/events/streams",
                 summary: "Server-sent events: every live stream with its stats and relay states, once a second",
                 access: .read, response: "StreamEvents", status: 200, redacted: relayStates),
        APIRoute(.console(.signIn), .POST, "/api/v1/console/session",
                 summary: "Console sign-in: an API key for an HttpOnly session cookie and a CSRF token", access: .open,
                 request: "SignIn", response: "ConsoleSession", status: 201),
        APIRoute(.console(.session), .GET, "/api/v1/console/session", summary: "The console session of the cookie", access: .read,
                 response: "ConsoleSession", status: 200),
        APIRoute(.console(.signOut), .DELETE, "/api/v1/console/session", summary: "Console sign-out", access: .read, status: 204),
        APIRoute(.qrCode, .POST, "/api/v1/qr", summary: "A QR code of a text (SVG)", access: .read,
                 request: "QRRequest", response: "QRCode", status: 200),
        APIRoute(.seeds(.list), .GET, "/videostream", summary: "Seed API: list", access: .read,
                 response: "VideoStreamList", status: 200, redacted: seedSecrets),
        APIRoute(.seeds(.create), .POST, "/videostream", summary: "Seed API: create", access: .write,
                 request: "VideoStream", response: "VideoStream", status: 201, redacted: seedSecrets),
        APIRoute(.seed(.show), .GET, "/videostream/{id}", summary: "Seed API: show", access: .read,
                 response: "VideoStream", status: 200, redacted: seedSecrets),
        APIRoute(.seed(.change), .PUT, "/videostream/{id}", summary: "Seed API: change", access: .write,
                 request: "VideoStream", response: "VideoStream", status: 200, redacted: seedSecrets),
        APIRoute(.seed(.delete), .DELETE, "/videostream/{id}", summary: "Seed API: delete", access: .write, status: 204),
    ]

    /// The table of docs/SCOPES.md (`ScopeTableTests` checks the file holds it): route, method,
    /// the weakest key scope that may call it, and what keys below admin see redacted.
    static var scopeTable: String {
        let rows = all.map { route in
            "| `\(route.path)` | \(route.method.rawValue) | \(route.access.scope) | \(route.redacted ?? "—") |"
        }
        let head = ["| Route | Method | Scope needed | Redacted for keys below admin |", "| --- | --- | --- | --- |"]
        return (head + rows).joined(separator: "\n") + "\n"
    }

    /// The route a request's method and path (split, percent-decoded) ask for, with the `{id}`
    /// the path named; or the error a client gets: 404 for an unknown path, 405 for a known path
    /// with another method.
    static func match(_ method: HTTPMethod, _ path: [String]) -> Result<APICall, APIError> {
        let candidates = all.compactMap { route in route.template.match(path).map { (route, $0) } }
        guard !candidates.isEmpty else {
            return .failure(APIError(.notFound, code: "not_found", message: "No such API route."))
        }
        guard let (route, found) = candidates.first(where: { $0.0.method == method }) else {
            return .failure(.methodNotAllowed(method))
        }
        return .success(APICall(route: route, id: found.values.first ?? ""))
    }
}
