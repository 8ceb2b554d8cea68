/// The topic catalog. Every topic Sluice reads or writes is a case here and a file in
/// `topics/` (a test keeps the two in step); no topic name appears as a literal elsewhere.
public enum Topic: String, CaseIterable, Sendable, Hashable {
    /// `stream.online`, `stream.offline`, `publish.rejected`, relays, motion, `stream.health`; key: stream id.
    case streamLifecycle = "sluice.stream.lifecycle"
    /// Media frames from ingest, binary (`MediaFrameCodec`); key: stream id.
    case mediaSource = "sluice.media.source"
    /// Transcoded (and watermarked) frames, binary like the source; the rendition name is in
    /// each frame's header; key: stream id.
    case mediaRenditions = "sluice.media.renditions"
    /// `channel.created`, `channel.updated`, `channel.deleted`; key: channel id.
    case channels = "sluice.channels"
    /// `asset.created`: recordings, snapshots, VOD playlists, motion clips; key: stream id.
    case assets = "sluice.assets"
    /// `webhook.deadletter`: events no receiver attempt accepted; key: stream id.
    case webhookDeadLetter = "sluice.webhooks.deadletter"
    /// Cluster-wide actions (`ClusterCommand`): kick a publisher, drop a stream's viewers,
    /// reload settings; every node reads them all; key: stream id.
    case commands = "sluice.commands"

    public var name: String { rawValue }

    /// Partition count for a Kafka cluster. The embedded bus keeps one ordered log per topic.
    public var partitions: Int {
        switch self {
        case .streamLifecycle: return 6
        case .mediaSource, .mediaRenditions: return 12
        case .channels: return 3
        case .assets: return 6
        case .webhookDeadLetter: return 3
        case .commands: return 1
        }
    }
}
