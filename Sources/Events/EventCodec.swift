import Foundation

/// The JSON envelope every control event travels in: `{type, version, id, time, source, data}`.
public struct EventEnvelope<Payload: Codable & Sendable>: Codable, Sendable {
    public var type: String
    /// Schema version of `data` for this `type`.
    public var version: Int
    /// Unique per event (UUID), for de-duplication and audit.
    public var id: String
    public var time: Date
    /// The node that emitted the event.
    public var source: String
    public var data: Payload
}

/// Encodes and decodes control events. The one place that knows event types and versions.
public struct EventCodec: Sendable {
    /// The schema version written for every event type today.
    public static let currentVersion = 1

    public init() {}

    public func encode(_ event: LifecycleEvent, id: UUID = UUID(), time: Date = Date(), source: String) throws -> Data {
        switch event {
        case .online(let data): return try encode(type: event.type, data, id: id, time: time, source: source)
        case .offline(let data): return try encode(type: event.type, data, id: id, time: time, source: source)
        case .publishRejected(let data): return try encode(type: event.type, data, id: id, time: time, source: source)
        case .relayStarted(let data), .relayFailed(let data):
            return try encode(type: event.type, data, id: id, time: time, source: source)
        case .motionStarted(let data), .motionEnded(let data):
            return try encode(type: event.type, data, id: id, time: time, source: source)
        case .health(let data): return try encode(type: event.type, data, id: id, time: time, source: source)
        }
    }

    public func encode(_ event: ChannelChange, id: UUID = UUID(), time: Date = Date(), source: String) throws -> Data {
        switch event {
        case .created(let data), .updated(let data): return try encode(type: event.type, data, id: id, time: time, source: source)
        case .deleted(let data): return try encode(type: event.type, data, id: id, time: time, source: source)
        }
    }

    public func encode(_ event: AssetCreated, id: UUID = UUID(), time: Date = Date(), source: String) throws -> Data {
        try encode(type: AssetCreated.type, event, id: id, time: time, source: source)
    }

    public func encode(_ event: WebhookDeadLetter, id: UUID = UUID(), time: Date = Date(), source: String) throws -> Data {
        try encode(type: "webhook.deadletter", event, id: id, time: time, source: source)
    }

    /// The envelope of a control value on the bus; nil for a media frame (frames are binary,
    /// `MediaFrameCodec`).
    public func encode(_ value: BusValue, time: Date = Date(), source: String) throws -> Data? {
        switch value {
        case .frame: return nil
        case .lifecycle(let event): return try encode(event, time: time, source: source)
        case .channel(let event): return try encode(event, time: time, source: source)
        case .asset(let event): return try encode(event, time: time, source: source)
        case .webhookDeadLetter(let event): return try encode(event, time: time, source: source)
        case .command(let command): return try encode(command, time: time, source: source)
        }
    }

    public func decodeWebhookDeadLetter(_ json: Data) throws -> WebhookDeadLetter {
        try decoder.decode(EventEnvelope<WebhookDeadLetter>.self, from: json).data
    }

    /// An envelope of any type and payload, e.g. the body of a webhook (`recording.ready`
    /// carrying an `asset.created` payload).
    public func encode<Payload: Codable & Sendable>(type: String, _ data: Payload, id: String, time: Date,
                                                    source: String) throws -> Data {
        try encoder.encode(EventEnvelope(type: type, version: Self.currentVersion, id: id, time: time, source: source, data: data))
    }

    public func decodeAsset(_ json: Data) throws -> AssetCreated {
        let header = try decoder.decode(EventEnvelope<Empty>.self, from: json)
        guard header.version == Self.currentVersion else {
            throw EventBusError(.unsupportedVersion, "\(header.type) version \(header.version)")
        }
        guard header.type == AssetCreated.type else { throw EventBusError(.unknownEventType, header.type) }
        return try decoder.decode(EventEnvelope<AssetCreated>.self, from: json).data
    }

    public func decodeChannel(_ json: Data) throws -> ChannelChange {
        let header = try decoder.decode(EventEnvelope<Empty>.self, from: json)
        guard header.version == Self.currentVersion else {
            throw EventBusError(.unsupportedVersion, "\(header.type) version \(header.version)")
        }
        switch header.type {
        case "channel.created": return .created(try decoder.decode(EventEnvelope<StreamChannel>.self, from: json).data)
        case "channel.updated": return .updated(try decoder.decode(EventEnvelope<StreamChannel>.self, from: json).data)
        case "channel.deleted": return .deleted(try decoder.decode(EventEnvelope<ChannelDeleted>.self, from: json).data)
        default: throw EventBusError(.unknownEventType, header.type)
        }
    }

    public func decodeLifecycle(_ json: Data) throws -> (event: LifecycleEvent, envelope: EventEnvelope<Empty>) {
        let header = try decoder.decode(EventEnvelope<Empty>.self, from: json)
        guard header.version == Self.currentVersion else {
            throw EventBusError(.unsupportedVersion, "\(header.type) version \(header.version)")
        }
        switch header.type {
        case "stream.online": return (.online(try decoder.decode(EventEnvelope<StreamOnline>.self, from: json).data), header)
        case "stream.offline": return (.offline(try decoder.decode(EventEnvelope<StreamOffline>.self, from: json).data), header)
        case "publish.rejected":
            return (.publishRejected(try decoder.decode(EventEnvelope<PublishRejected>.self, from: json).data), header)
        case "relay.started": return (.relayStarted(try decoder.decode(EventEnvelope<RelayEvent>.self, from: json).data), header)
        case "relay.failed": return (.relayFailed(try decoder.decode(EventEnvelope<RelayEvent>.self, from: json).data), header)
        case "motion.started": return (.motionStarted(try decoder.decode(EventEnvelope<MotionEvent>.self, from: json).data), header)
        case "motion.ended": return (.motionEnded(try decoder.decode(EventEnvelope<MotionEvent>.self, from: json).data), header)
        case "stream.health": return (.health(try decoder.decode(EventEnvelope<StreamHealthChanged>.self, from: json).data), header)
        default:
            throw EventBusError(.unknownEventType, header.type)
        }
    }

    /// Stands in for `data` when only the envelope's header fields are read.
    public struct Empty: Codable, Sendable {}

    private func encode<Payload: Codable & Sendable>(type: String, _ data: Payload, id: UUID, time: Date,
                                                     source: String) throws -> Data {
        let envelope = EventEnvelope(type: type, version: Self.currentVersion, id: id.uuidString.lowercased(),
                                     time: time, source: source, data: data)
        return try encoder.encode(envelope)
    }

    private var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
