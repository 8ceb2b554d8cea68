import Events
import Foundation
import NIOCore
import State

/// Channels as the API reads and writes them: JSON with RFC 3339 times, unknown fields refused,
/// read-only fields (`id`, `createdAt`, `updatedAt`, `revision`) ignored on input, and every
/// write applied as a merge onto a base channel (defaults for POST and PUT, the stored channel
/// for PATCH), then validated. Redacted URLs a client sends back (it PUTs what a non-admin key
/// read) keep the stored values (`StreamChannel.restoringSecrets(from:)`).
enum ChannelJSON {
    static let readOnly: Set<String> = ["id", "createdAt", "updatedAt", "revision"]

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }

    /// Every settable field, optional ones and array elements included.
    static let template: JSONValue = {
        var channel = StreamChannel(name: "template", expiresAt: Date(), relays: [StreamChannel.Relay(url: "rtmp://host/app/key")])
        channel.hls.partSeconds = 1
        channel.admissionURL = "https://hooks.example/admit"
        channel.srt.passphrase = "template-passphrase"
        channel.webhooks = [Webhook(url: "https://hooks.example/sluice", events: ["stream.online"])]
        return (try? value(of: channel)) ?? .null
    }()

    static func value<T: Encodable>(of value: T) throws -> JSONValue {
        try decoder.decode(JSONValue.self, from: encoder.encode(value))
    }

    /// Parses a request body that must be a JSON object.
    static func parseObject(_ body: ByteBuffer?) throws(APIError) -> JSONValue {
        guard let body, body.readableBytes > 0 else {
            throw APIError(.badRequest, code: "invalid_json", message: "A JSON object body is required.")
        }
        let parsed: JSONValue
        do {
            parsed = try decoder.decode(JSONValue.self, from: Data(body.readableBytesView))
        } catch {
            throw APIError(.badRequest, code: "invalid_json", message: "The body is not valid JSON.")
        }
        guard case .object = parsed else {
            throw APIError(.badRequest, code: "invalid_json", message: "The body must be a JSON object.")
        }
        return parsed
    }

    /// `base` with `patch` merged in, redacted URLs restored from `stored` (the channel as it
    /// is now; nil for a new one), checked field by field.
    static func apply(_ patch: JSONValue, to base: StreamChannel, stored: StreamChannel? = nil) throws(APIError) -> StreamChannel {
        guard case .object(var fields) = patch else {
            throw APIError(.badRequest, code: "invalid_json", message: "The body must be a JSON object.")
        }
        for key in readOnly { fields[key] = nil }
        let unknown = JSONValue.object(fields).unknownFields(comparedTo: template)
        guard unknown.isEmpty else {
            throw APIError(.badRequest, code: "unknown_fields", message: "Unknown fields.",
                           fields: unknown.map { FieldError($0, "is not a channel field") })
        }
        let channel: StreamChannel
        do {
            let merged = try value(of: base).merging(.object(fields))
            channel = try decoder.decode(StreamChannel.self, from: encoder.encode(merged))
        } catch let error as DecodingError {
            throw APIError(.badRequest, code: "invalid_fields", message: "Some fields have the wrong type.",
                           fields: [fieldError(error)])
        } catch {
            throw .internal(error)
        }
        return try checked(channel, base: base, stored: stored)
    }

    /// `channel` with its read-only fields from `base` and its secrets restored from `stored`,
    /// or the field errors of what is left.
    static func checked(_ sent: StreamChannel, base: StreamChannel, stored: StreamChannel?) throws(APIError) -> StreamChannel {
        var channel = stored.map(sent.restoringSecrets(from:)) ?? sent
        channel.id = base.id
        channel.createdAt = base.createdAt
        channel.updatedAt = base.updatedAt
        channel.revision = base.revision
        let invalid = channel.redactedValueErrors() + channel.validationErrors()
        guard invalid.isEmpty else {
            throw APIError(.badRequest, code: "invalid_fields", message: "Some fields are not valid.", fields: invalid)
        }
        return channel
    }

    private static func fieldError(_ error: DecodingError) -> FieldError {
        func path(_ keys: [any CodingKey]) -> String {
            keys.reduce("") { path, key in
                if let index = key.intValue { return "\(path)[\(index)]" }
                return path.isEmpty ? key.stringValue : "\(path).\(key.stringValue)"
            }
        }
        switch error {
        case .typeMismatch(let type, let context):
            return FieldError(path(context.codingPath), "must be of type \(type)")
        case .valueNotFound(_, let context):
            return FieldError(path(context.codingPath), "must not be null")
        case .keyNotFound(let key, let context):
            return FieldError(path(context.codingPath + [key]), "is required")
        case .dataCorrupted(let context):
            return FieldError(path(context.codingPath), "has an invalid value")
        @unknown default:
            return FieldError("", "is not valid")
        }
    }
}
