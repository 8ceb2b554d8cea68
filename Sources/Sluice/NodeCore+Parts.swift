import Events
import Fanout
import Foundation
import Ingest
import Logging
import NIOPosix
import State

extension NodeCore {
    /// The node made from what `open` connected to (its metadata stores and bus): session state
    /// (Redis with `--redis`, else memory), the playback-start recorder of ingest and transcode
    /// nodes, the fan-out hub, the asset store and the event loops. Opens no socket, so tests
    /// make any role's node from SQLite and the embedded bus.
    static func assemble(_ settings: ServeSettings, stores: MetadataStores, announcer: ReadyAnnouncer, bus: any EventBus,
                         acknowledgements: AsyncStream<BusAcknowledgement>, logger: Logger) -> NodeCore {
        let sessions: any SessionStore = settings.redis.map { RedisSessionStore(redis: $0) } ?? InMemorySessionStore()
        // Ingest and transcode nodes note where readers joining mid-session start (and API nodes,
        // which publish WHIP streams); the bus tells where keyframes and segment starts landed,
        // the recorder reads that.
        let recordsStarts = [Role.ingest, .transcode, .api].contains { settings.roles.contains($0) }
        let playbackStarts = recordsStarts ? PlaybackStartRecorder(sessions: sessions, acknowledgements: acknowledgements,
                                                                   logger: logger) : nil
        // A cluster's API node reads a stream only while it has viewers there.
        let hubFeed: FanoutHub.Feed = settings.kafka != nil ? .onDemand(.init(sessions: sessions)) : .everyStream
        let hub = FanoutHub(bus: bus, feed: hubFeed, channels: stores.channels, flushPolicy: settings.flushPolicy,
                            logger: logger)
        let assetStore: any AssetStore = settings.s3.map { S3AssetStore(configuration: $0) }
            ?? FilesystemAssetStore(root: settings.dataDirectory.appendingPathComponent("assets", isDirectory: true))
        return NodeCore(settings: settings, logger: logger, stores: stores, sessions: sessions, bus: bus,
                        playbackStarts: playbackStarts, group: MultiThreadedEventLoopGroup(numberOfThreads: settings.eventLoops),
                        hub: hub, announcer: announcer, assetStore: assetStore)
    }
}
