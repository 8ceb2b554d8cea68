import Events
@testable import Fanout
import Foundation
import Logging
@testable import Packager
import Workers
import State
import Testing
@testable import Sluice

/// Which services each role runs and in which order (SIGTERM stops them in the reverse), and
/// which parts the settings choose, read from the composition itself without binding a port.
@Suite(.timeLimit(.minutes(1))) struct NodeCompositionTests {
    static let serveWorkers = ["TranscodeWorker", "RenditionHeadersRecording", "SnapshotWorker", "VODWorker", "MP4Worker",
                               "DVRWorker", "MotionWorker", "RetentionWorker", "RelayWorker", "HealthWorker", "WebhookWorker"]

    /// `sluice serve`: the bus, the recorder and the hub first, every worker, the edge (ingest,
    /// SRT, WebRTC), then the packager and HTTP; no settings reload (nothing else writes its SQLite) and no status port.
    @Test func serveStartsSharedPartsThenWorkersThenTheEdgeThenHTTP() async throws {
        try await TestNode.with(Set(Role.allCases)) { node in
            let shared: [String] = ["BusService", "PlaybackStartRecorder", "HubService"]
            let edge: [String] = ["CommandService", "NodeWatch", "StreamSampler", "PublishRevalidation", "IngestService", "SRTIngestService",
                                   "WebRTCTransportService", "WHIPIngestService", "PackagerService", "ChannelTimelineFeed", "HTTPService"]
            #expect(TestNode.names(NodeComposition(node.core).services) == shared + Self.serveWorkers + edge)
        }
    }

    @Test func anIngestNodeRunsRTMPBehindItsStatusPort() async throws {
        try await TestNode.with([.ingest], TestNode.clusterFlags) { node in
            #expect(TestNode.names(NodeComposition(node.core).services) == [
                "DatabaseStandIn", "BusService", "SettingsReload", "PlaybackStartRecorder", "HubService",
                "CommandService", "StatusService", "NodeWatch", "StreamSampler", "PublishRevalidation", "IngestService", "SRTIngestService",
            ])
        }
    }

    /// WebRTC lives on API nodes (WHEP from the fan-out, WHIP through the edge's publish path),
    /// which therefore record where keyframes land and revalidate their publishers as ingest
    /// nodes do.
    @Test func anAPINodeRunsWebRTCThePackagerAndHTTPAndNoStatusPort() async throws {
        try await TestNode.with([.api], TestNode.clusterFlags) { node in
            #expect(TestNode.names(NodeComposition(node.core).services) == [
                "DatabaseStandIn", "BusService", "SettingsReload", "PlaybackStartRecorder", "HubService", "CommandService", "NodeWatch",
                "StreamSampler", "PublishRevalidation", "WebRTCTransportService", "WHIPIngestService", "PackagerService",
                "ChannelTimelineFeed", "HTTPService",
            ])
        }
    }

    /// A worker node has no hub, no ingest and no HTTP edge; the recorder only beside a transcoder.
    @Test func workerNodesRunTheirWorkersAndAStatusPort() async throws {
        try await TestNode.with(Set(Role.workers), TestNode.clusterFlags) { node in
            let shared: [String] = ["DatabaseStandIn", "BusService", "SettingsReload", "PlaybackStartRecorder"]
            let edge: [String] = ["CommandService", "StatusService"]
            #expect(TestNode.names(NodeComposition(node.core).services) == shared + Self.serveWorkers + edge)
        }
        try await TestNode.with([.webhooks, .record], TestNode.clusterFlags) { node in
            #expect(TestNode.names(NodeComposition(node.core).services) == [
                "DatabaseStandIn", "BusService", "SettingsReload", "VODWorker", "MP4Worker", "HealthWorker", "WebhookWorker",
                "CommandService", "StatusService",
            ])
            #expect(node.core.playbackStarts == nil)
        }
    }

    /// Only the roles' own workers are made (each subscribes when made), and the composition's
    /// transcoder is the one in its services.
    @Test func theTranscoderIsMadeOnlyForItsRole() async throws {
        try await TestNode.with([.transcode], TestNode.clusterFlags) { node in
            let composition = NodeComposition(node.core)
            let transcoder = try #require(composition.transcoder)
            #expect(composition.services.contains { $0.service as? TranscodeWorker === transcoder })
        }
        try await TestNode.with([.relay], TestNode.clusterFlags) { node in
            #expect(NodeComposition(node.core).transcoder == nil)
        }
    }

    /// One machine reads every stream into its fan-out; a cluster's API node only the streams its
    /// viewers ask for. The packager reads on demand on both.
    @Test func clusterHubsReadOnDemandAndServeReadsEveryStream() async throws {
        try await TestNode.with(Set(Role.allCases)) { node in
            #expect(node.core.hub.onDemand == nil)
            #expect(Self.packager(node.core)?.onDemand != nil)
            #expect(!node.core.clustered)
        }
        try await TestNode.with([.api], TestNode.clusterFlags) { node in
            #expect(node.core.hub.onDemand != nil)
            #expect(Self.packager(node.core)?.onDemand != nil)
            #expect(node.core.clustered)
        }
    }

    /// Session state in Redis with `--redis` (also under `serve`), else in memory.
    @Test func sessionStateFollowsTheRedisFlag() async throws {
        try await TestNode.with(Set(Role.allCases)) { node in
            #expect(node.core.sessions is InMemorySessionStore)
        }
        try await TestNode.with(Set(Role.allCases), ["--redis", "redis://redis.invalid:6379"]) { node in
            #expect(node.core.sessions is RedisSessionStore)
            #expect(node.core.hub.onDemand == nil, "Redis alone does not make a cluster")
        }
        try await TestNode.with([.ingest], TestNode.clusterFlags) { node in
            #expect(node.core.sessions is RedisSessionStore)
        }
    }

    /// A `serve` on a shared PostgreSQL re-reads settings others may save; cluster workers read
    /// as consumer groups that skip stale media, `serve`'s from now.
    @Test func sharedDatabasesReloadSettingsAndClustersReadAsGroups() async throws {
        try await TestNode.with(Set(Role.allCases), ["--database", "postgres://sluice@db.invalid:5432/sluice"]) { node in
            let names = TestNode.names(node.core.sharedServices)
            #expect(names == ["DatabaseStandIn", "BusService", "SettingsReload", "PlaybackStartRecorder", "HubService"])
            #expect(node.core.feed("vod") == .fromNow)
        }
        try await TestNode.with([.record], TestNode.clusterFlags) { node in
            #expect(node.core.feed("vod") == .group("sluice-vod", maxAge: .seconds(10)))
            #expect(node.core.feed("webhooks", media: false) == .group("sluice-webhooks", maxAge: nil))
        }
    }

    /// Assets go under the data dir unless S3 is configured.
    @Test func assetsLiveInTheDataDirWithoutS3() async throws {
        try await TestNode.with([.record], TestNode.clusterFlags) { node in
            #expect(node.core.assetStore is FilesystemAssetStore)
        }
    }

    /// `sluice serve`'s own `NodeCore.open`: the embedded bus journaled to the data dir, SQLite,
    /// memory, and the demo channel made for a new install.
    @Test func serveOpensTheEmbeddedBusAndSQLiteInItsDataDir() async throws {
        let folder = try TestNode.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let settings = try TestNode.settings(Set(Role.allCases), [], folder: folder.appendingPathComponent("data"))
        let core = try await NodeCore.open(settings, logger: Logger(label: "test"))
        #expect(core.bus is EmbeddedEventBus)
        #expect(core.sessions is InMemorySessionStore)
        #expect(core.stores.channels is SQLiteChannelStore)
        #expect(core.hub.onDemand == nil && core.playbackStarts != nil)
        #expect(try await core.stores.channels.list(nameContains: nil, limit: 10, after: nil).channels.map(\.name) == ["Demo"])
        let files = try FileManager.default.contentsOfDirectory(atPath: settings.dataDirectory.path)
        #expect(files.contains("events") && files.contains("sluice.sqlite"))
        await core.bus.shutdown()
        try await core.group.shutdownGracefully()
    }

    static func packager(_ core: NodeCore) -> PackagerHub? {
        NodeComposition(core).services.lazy.compactMap { ($0.service as? PackagerService)?.packager }.first
    }
}
