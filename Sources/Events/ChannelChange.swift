/// Everything on `sluice.channels`: the audit trail of channel configuration. Channels travel
/// without their push secrets, which are not part of the model, and, once `redacted`, without
/// the relay keys and hook tokens in their URLs.
public enum ChannelChange: Sendable, Hashable {
    case created(StreamChannel)
    case updated(StreamChannel)
    case deleted(ChannelDeleted)

    public var type: String {
        switch self {
        case .created: return "channel.created"
        case .updated: return "channel.updated"
        case .deleted: return "channel.deleted"
        }
    }

    /// The record key: the channel id.
    public var key: String {
        switch self {
        case .created(let channel), .updated(let channel): return channel.id.description
        case .deleted(let deleted): return deleted.id.description
        }
    }

    /// The change as `sluice.channels` carries it: every channel redacted
    /// (`StreamChannel.redacted`). The topic is read by every worker and replayed by the audit
    /// trail, so it never holds relay stream keys or hook tokens.
    public var redacted: ChannelChange {
        switch self {
        case .created(let channel): return .created(channel.redacted)
        case .updated(let channel): return .updated(channel.redacted)
        case .deleted: return self
        }
    }
}

/// `channel.deleted`: which channel, at which revision.
public struct ChannelDeleted: Codable, Sendable, Hashable {
    public var id: ChannelID
    public var revision: Int?

    public init(id: ChannelID, revision: Int?) {
        self.id = id
        self.revision = revision
    }
}
