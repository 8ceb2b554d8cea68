import Events
import Foundation
import ServiceLifecycle
import State
import Workers

/// The worker roles: transcoding, snapshots, recordings, the DVR archive, motion, retention, relays, webhooks (with stream health).
extension NodeCore {
    typealias Services = [ServiceGroupConfiguration.ServiceConfiguration]

    /// The transcode worker (nil without the role). Cluster workers take sessions over
    /// mid-session: by lease (`TranscodeLeasing`), at the next segment start a few seconds back.
    func transcodeWorker() -> TranscodeWorker? {
        guard has(.transcode) else { return nil }
        // Cluster transcode workers agree by leases in Redis who transcodes a session, so a dead
        // worker's sessions move on within seconds, before the group's rebalance.
        let leasing = clustered ? settings.redis.map {
            TranscodeLeasing(leases: RedisLeaseStore(redis: $0), sessions: sessions, owner: nodeID)
        } : nil
        return TranscodeWorker(bus: bus, feed: feed("transcode"), joining: clustered ? SessionJoining(sessions: sessions) : nil,
                               leasing: leasing, channels: stores.channels, fontFile: settings.watermarkFont, logger: logger)
    }

    /// The transcoder and, beside it, the recording of its renditions' headers for nodes that
    /// join a stream mid-session.
    func transcoderServices(_ transcoder: TranscodeWorker?) -> Services {
        guard let transcoder else { return [] }
        var services: Services = [.init(service: transcoder)]
        if let playbackStarts { services.append(.init(service: RenditionHeadersRecording(transcoder: transcoder, recorder: playbackStarts))) }
        return services
    }

    /// Every worker role's service but the transcoder's, in start order.
    func workerServices() -> Services {
        recordingServices() + deliveryServices()
    }

    /// Snapshots, VOD and MP4 recordings, the DVR archive, motion and retention: what writes assets.
    private func recordingServices() -> Services {
        let (channels, index, store) = (stores.channels, stores.assetIndex, assetStore)
        var services: Services = []
        if has(.snapshot) {
            services.append(.init(service: SnapshotWorker(bus: bus, feed: feed("snapshot"), index: index, store: store,
                                                          channels: channels, logger: logger)))
        }
        if has(.record) {
            // Cluster recordings start on sessions under way at the first keyframe read, and note
            // where each file stands in the log, for a worker taking the recording over.
            let joining = clustered ? SessionJoining(sessions: sessions, lookback: nil) : nil
            let progress = clustered ? settings.redis.map(RedisRecordingProgressStore.init) : nil
            services.append(.init(service: VODWorker(bus: bus, feed: feed("vod"), joining: joining, progress: progress, index: index,
                                                     store: store, channels: channels, logger: logger)))
            services.append(.init(service: MP4Worker(bus: bus, feed: feed("mp4"), joining: joining, progress: progress, index: index,
                                                     store: store, workDirectory: folder("recording"), channels: channels, logger: logger)))
        }
        if has(.dvr) {
            // Like the recordings, a cluster's DVR worker starts on sessions under way at a keyframe and
            // notes where its archive stands in the log, for a worker taking a stream over.
            services.append(.init(service: DVRWorker(bus: bus, feed: feed("dvr"), joining: clustered ? SessionJoining(sessions: sessions, lookback: nil) : nil,
                                                     progress: clustered ? settings.redis.map(RedisRecordingProgressStore.init) : nil,
                                                     index: index, store: store, channels: channels, sessions: sessions,
                                                     logger: logger)))
        }
        if has(.motion) {
            services.append(.init(service: MotionWorker(bus: bus, feed: feed("motion"), index: index, store: store,
                                                        workDirectory: folder("motion"), channels: channels, logger: logger)))
        }
        if has(.retention) {
            services.append(.init(service: RetentionWorker(index: index, store: store, channels: channels, logger: logger)))
        }
        return services
    }

    /// Relays, stream health and webhooks: what reaches other systems.
    private func deliveryServices() -> Services {
        var services: Services = []
        if has(.relay) {
            services.append(.init(service: RelayWorker(bus: bus, feed: feed("relay"), joining: clustered ? SessionJoining(sessions: sessions) : nil,
                                                       sessions: sessions, group: group, tls: settings.relayTLS,
                                                       policy: settings.destinations, channels: stores.channels, logger: logger)))
        }
        if has(.webhooks) {
            // Health warnings are events first: the webhooks role computes them (stream.health) beside delivering them.
            services.append(.init(service: HealthWorker(bus: bus, feed: feed("health"), sessions: sessions, channels: stores.channels,
                                                        node: nodeID, logger: logger)))
            services.append(.init(service: WebhookWorker(bus: bus, feed: feed("webhooks", media: false), settings: stores.webhookSettings,
                                                         deliveries: stores.webhookDeliveries, node: nodeID,
                                                         configuration: settings.webhooks, channels: stores.channels, logger: logger)))
        }
        return services
    }

    private func folder(_ name: String) -> URL { settings.dataDirectory.appendingPathComponent(name, isDirectory: true) }
}
