import Foundation

/// A cluster-wide action on `sluice.commands`: every node reads every command (from the end,
/// never as a shared consumer group) and the nodes that hold what it names act on it
/// (`CommandLedger` decides). The id is the envelope's id, unique per command, so a command
/// read twice (a consumer restarted, a record redelivered) is carried out once.
///
/// On the embedded bus (`sluice serve`) the same records travel in process; on Kafka they are
/// JSON envelopes like every control event (`publisher.kick`, `viewers.drop`,
/// `settings.reload`, version 1).
public struct ClusterCommand: Sendable, Hashable {
    /// Unique per command: a lowercase UUID unless the sender chose one.
    public var id: String
    public var action: Action

    public init(id: String = UUID().uuidString.lowercased(), _ action: Action) {
        self.id = id
        self.action = action
    }

    /// What the cluster is asked to do.
    public enum Action: Sendable, Hashable {
        /// Stop a publisher: done by the one node whose publisher registry holds it.
        case kickPublisher(KickPublisher)
        /// Disconnect a stream's HTTP-FLV and RTMP viewers on every node: its playback rules
        /// changed, and whoever watches must be admitted again under the new ones.
        case dropViewers(DropViewers)
        /// Read the shared settings again now, rather than at the next periodic reload.
        case reloadSettings
    }

    /// The envelope type of each action.
    public var type: String {
        switch action {
        case .kickPublisher: return "publisher.kick"
        case .dropViewers: return "viewers.drop"
        case .reloadSettings: return "settings.reload"
        }
    }

    /// The record key: the stream the command is about; settings commands share one key.
    public var key: String {
        switch action {
        case .kickPublisher(let kick): return kick.streamID.rawValue
        case .dropViewers(let drop): return drop.streamID.rawValue
        case .reloadSettings: return "settings"
        }
    }
}

/// `publisher.kick`: which stream, optionally which publish session of it, and the reason the
/// publisher is told (its `onStatus` description).
public struct KickPublisher: Codable, Sendable, Hashable {
    public var streamID: StreamID
    /// Only this publish session; nil: whichever session publishes the stream.
    public var sessionID: UInt64?
    public var reason: String

    public init(streamID: StreamID, sessionID: UInt64? = nil, reason: String = "Stopped by an operator.") {
        self.streamID = streamID
        self.sessionID = sessionID
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey { case streamID = "streamId", sessionID = "sessionId", reason }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        streamID = try container.decode(StreamID.self, forKey: .streamID)
        sessionID = try container.decodeIfPresent(HexSessionID.self, forKey: .sessionID)?.wrappedValue
        reason = try container.decode(String.self, forKey: .reason)
    }

    /// Session ids as 16 hex digits, like every 64-bit id in Sluice's JSON.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(streamID, forKey: .streamID)
        try container.encodeIfPresent(sessionID.map(HexSessionID.init(wrappedValue:)), forKey: .sessionID)
        try container.encode(reason, forKey: .reason)
    }
}

/// `viewers.drop`: the stream whose viewers must be admitted again, and why.
public struct DropViewers: Codable, Sendable, Hashable {
    public var streamID: StreamID
    public var reason: String

    public init(streamID: StreamID, reason: String = "The channel's playback rules changed.") {
        self.streamID = streamID
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey { case streamID = "streamId", reason }
}

extension EventCodec {
    /// The command's envelope; its id is the command's id.
    public func encode(_ command: ClusterCommand, time: Date = Date(), source: String) throws -> Data {
        switch command.action {
        case .kickPublisher(let kick): return try encode(type: command.type, kick, id: command.id, time: time, source: source)
        case .dropViewers(let drop): return try encode(type: command.type, drop, id: command.id, time: time, source: source)
        case .reloadSettings: return try encode(type: command.type, Empty(), id: command.id, time: time, source: source)
        }
    }

    /// A command from its envelope; throws for another version, an unknown type or an empty id.
    public func decodeCommand(_ json: Data) throws -> ClusterCommand {
        let header = try decoder.decode(EventEnvelope<Empty>.self, from: json)
        guard header.version == Self.currentVersion else {
            throw EventBusError(.unsupportedVersion, "\(header.type) version \(header.version)")
        }
        guard !header.id.isEmpty, header.id.utf8.count <= 128 else { throw EventBusError(.malformedRecord, "command id") }
        switch header.type {
        case "publisher.kick":
            return ClusterCommand(id: header.id, .kickPublisher(try decoder.decode(EventEnvelope<KickPublisher>.self, from: json).data))
        case "viewers.drop":
            return ClusterCommand(id: header.id, .dropViewers(try decoder.decode(EventEnvelope<DropViewers>.self, from: json).data))
        case "settings.reload":
            return ClusterCommand(id: header.id, .reloadSettings)
        default:
            throw EventBusError(.unknownEventType, header.type)
        }
    }
}

extension StreamChannel {
    /// Whether `other` admits viewers under different rules: signed play URLs or the channel's
    /// admission hook changed. Viewers admitted under the old rules are then dropped
    /// (`viewers.drop`) so they are admitted again under the new ones.
    public func playbackRulesDiffer(from other: StreamChannel) -> Bool {
        playback != other.playback || admissionURL != other.admissionURL
    }
}
