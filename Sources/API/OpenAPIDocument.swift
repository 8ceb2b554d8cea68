import Events
import Foundation
import State

/// The OpenAPI 3.0 description of the API, generated from `APIRoutes.all` and from example
/// values of the types the API reads and writes, so it describes exactly what is served.
enum OpenAPIDocument {
    static let document: JSONValue = .object([
        "openapi": .string("3.0.3"),
        "info": .object(["title": .string("Sluice API"), "version": .string("1")]),
        "security": .array([.object(["bearer": .array([])])]),
        "components": .object([
            "securitySchemes": .object(["bearer": .object(["type": .string("http"), "scheme": .string("bearer")])]),
            "schemas": .object(schemas),
        ]),
        "paths": .object(paths),
    ])

    private static var paths: [String: JSONValue] {
        var paths: [String: [String: JSONValue]] = [:]
        for route in APIRoutes.all {
            paths[route.path, default: [:]][route.method.rawValue.lowercased()] = operation(route)
        }
        return paths.mapValues { .object($0) }
    }

    private static func operation(_ route: APIRoute) -> JSONValue {
        var operation: [String: JSONValue] = [
            "summary": .string(route.summary),
            "operationId": .string(route.method.rawValue.lowercased() + route.path.split(separator: "/")
                .map { $0.replacingOccurrences(of: "{", with: "").replacingOccurrences(of: "}", with: "").capitalized }
                .joined().filter { $0.isLetter || $0.isNumber }),
            "responses": .object(responses(route)),
        ]
        let parameters = route.path.split(separator: "/").filter { $0.hasPrefix("{") }.map { name in
            JSONValue.object(["name": .string(String(name.dropFirst().dropLast())), "in": .string("path"),
                              "required": .bool(true), "schema": .object(["type": .string("string")])])
        }
        if !parameters.isEmpty { operation["parameters"] = .array(parameters) }
        if let request = route.request {
            operation["requestBody"] = .object(["required": .bool(!["PushURLRequest", "PlayURLRequest"].contains(route.request)),
                                                "content": json(reference(request))])
        }
        if route.access == .open { operation["security"] = .array([]) }
        operation["x-required-scope"] = .string(route.access.scope)
        if let redacted = route.redacted { operation["description"] = .string("Redacted for keys below admin: \(redacted).") }
        return .object(operation)
    }

    private static func responses(_ route: APIRoute) -> [String: JSONValue] {
        var success: [String: JSONValue] = ["description": .string(route.summary)]
        if let response = route.response { success["content"] = json(reference(response)) }
        let failure: JSONValue = .object(["description": .string("An error"), "content": json(reference("Error"))])
        return ["\(route.status)": .object(success), "default": failure]
    }

    /// JSON content of a schema; files as binary: the watermark image as PNG or JPEG (or
    /// octet-stream: the server knows the image by its signature), asset bytes as octet-stream,
    /// QR codes as SVG, server-sent events as an event stream.
    private static func json(_ schema: JSONValue) -> JSONValue {
        for (name, types) in binarySchemas where schema == reference(name) {
            let binary = JSONValue.object(["schema": .object(["type": .string("string"), "format": .string("binary")])])
            return .object(Dictionary(uniqueKeysWithValues: types.map { ($0, binary) }))
        }
        return .object(["application/json": .object(["schema": schema])])
    }

    private static let binarySchemas = [
        "WatermarkImage": ["image/png", "image/jpeg", "application/octet-stream"],
        "AssetContent": ["application/octet-stream"],
        "QRCode": ["image/svg+xml"],
        "StreamEvents": ["text/event-stream"],
    ]

    private static func reference(_ name: String) -> JSONValue {
        .object(["$ref": .string("#/components/schemas/\(name)")])
    }

    // MARK: Schemas from examples

    private static var schemas: [String: JSONValue] {
        let channel = ChannelJSON.template
        let stream = StreamsAPI.LiveStream(id: "s", since: Date(), node: "n", videoCodec: "avc1", audioCodec: "aac",
                                           width: 1, height: 1, frameRate: 1, ingestBitrate: 1, viewers: ["flv": 1],
                                           health: [HealthWarning(code: .keyframeInterval, severity: .warning, message: "m", since: Date())],
                                           srt: SRTLinkStatus(rttMs: 1, packetsReceived: 1, packetsLost: 1, packetsRetransmitted: 1,
                                                              packetsReceivedRetransmitted: 1, packetsDropped: 1, receiveBufferMs: 1,
                                                              mbpsReceive: 1), captions: ["CC1"],
                                           webrtc: [StreamsAPI.WebRTCViewer.example])
        let key = APIKey(id: "k", name: "n", scope: .readOnly, createdAt: Date())
        let asset = (try? ChannelJSON.value(of: AssetsAPI.Shown(
            asset: Asset(kind: .snapshot, channelID: "c", streamID: StreamID("s")!, sessionID: 1, start: Date(), duration: 0, size: 1,
                         location: "c/snapshot/2026/01/01/s.jpg", contentType: "image/jpeg"),
            downloadURL: "/api/v1/assets/a/content"))) ?? .null
        let examples: [String: JSONValue] = [
            "Channel": channel,
            "ChannelList": .object(["items": .array([channel]), "next": .string("")]),
            "PushURLRequest": .object(["expiresIn": .number(3600)]),
            "PlayURLRequest": .object(["ttlSeconds": .number(3600), "clientIP": .string("192.0.2.1")]),
            "PlayURL": .object(["urls": .object(["flv": .string("http://h/s/live.flv?expires=1&token=t")]),
                                "query": .string("expires=1&token=t"), "expiresAt": .string("2030-01-01T00:00:00Z"),
                                "clientIP": .string("192.0.2.1")]),
            "PushURL": (try? ChannelJSON.value(of: PushURL(url: "u", server: "s", streamKey: "k", expiresAt: nil,
                                                           stable: true, qrText: "q"))) ?? .null,
            "LiveStream": (try? ChannelJSON.value(of: stream)) ?? .null,
            "StreamHistory": StreamsAPI.historyExample,
            "RelayList": .object(["items": .array([(try? ChannelJSON.value(of: RelayStatus(
                destination: "rtmp://h:1935/app/ke…", state: .live, lastError: "e"))) ?? .null])]),
            "StreamList": .object(["items": .array([(try? ChannelJSON.value(of: stream)) ?? .null])]),
            "Settings": .object(["pushBaseURL": .string("rtmp://h"), "playBaseURL": .string("http://h")]),
            "NewKey": .object(["name": .string("n"), "scope": .string("read-only")]),
            "CreatedKey": .object(["key": .string("k"), "record": (try? ChannelJSON.value(of: key)) ?? .null]),
            "KeyList": .object(["items": .array([(try? ChannelJSON.value(of: key)) ?? .null])]),
            "VideoStream": SeedVideoStream.record(of: StreamChannel(name: "v", expiresAt: Date(),
                                                                    relays: [.init(url: "rtmp://h/a/k")]), key: "k"),
            "Asset": asset,
            "SignIn": .object(["key": .string("sk_…")]),
            "WebhookSettings": (try? ChannelJSON.value(of: WebhookSettings(
                webhooks: [Webhook(url: "https://hooks.example/sluice", events: ["stream.online"])], signingSecret: "whsec_…"))) ?? .null,
            "WebhookUpdate": .object(["webhooks": .array([.object(["url": .string("https://hooks.example/sluice"),
                                                                  "events": .array([.string("stream.online")])])])]),
            "WebhookDeliveryList": .object(["items": .array([(try? ChannelJSON.value(of: WebhookDelivery(
                eventID: "e", eventType: "stream.online", streamID: "s", url: "https://hooks.example/sluice", status: .retrying,
                attempts: 2, httpStatus: 503, error: "HTTP 503"))) ?? .null])]),
            "ConsoleSession": .object(["scope": .string("admin"), "csrfToken": .string("c"),
                                       "expiresAt": .string("2030-01-01T00:00:00Z")]),
            "QRRequest": .object(["text": .string("rtmp://h/stream/s"), "title": .string("Push URL")]),
            "AssetList": .object(["items": .array([asset]), "next": .string("")]),
            "EventTimeline": (try? ChannelJSON.value(of: TimelinePage(events: [TimelineEvent(
                id: "l42", type: "stream.offline", at: Date(), summary: "Went offline: publisher disconnected, after 1 min 5 s",
                detail: .object(["streamId": .string("s")]))], next: nil))) ?? .null,
            "Error": .object(["error": .object(["code": .string("c"), "message": .string("m"),
                                                "fields": .array([.object(["field": .string("f"),
                                                                           "message": .string("m")])])])]),
        ]
        var schemas = examples.mapValues { schema(of: $0) }
        schemas["PlayURLs"] = .object(["type": .string("object"),
                                       "additionalProperties": .object(["type": .string("string")])])
        schemas["VideoStreamList"] = .object(["type": .string("array"), "items": reference("VideoStream")])
        return schemas
    }

    /// A JSON Schema that an example value (and values shaped like it) satisfies.
    static func schema(of example: JSONValue) -> JSONValue {
        switch example {
        case .null: return .object(["nullable": .bool(true)])
        case .bool: return .object(["type": .string("boolean")])
        case .number: return .object(["type": .string("number")])
        case .string: return .object(["type": .string("string")])
        case .array(let elements):
            return .object(["type": .string("array"), "items": elements.first.map(schema(of:)) ?? .object([:])])
        case .object(let fields):
            return .object(["type": .string("object"), "properties": .object(fields.mapValues(schema(of:)))])
        }
    }
}
