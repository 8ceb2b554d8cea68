import Access
import Events
import Fanout
import Foundation
import Logging
import NIOEmbedded
import RTMP
import State
import Testing
@testable import Ingest

/// Live publishers are held to their channel's rules: disabling, deleting, expiring or
/// re-keying a channel stops its publisher at the next round; nothing else does.
@Suite struct PublishRevalidationTests {
    let bus = EmbeddedEventBus()
    let channels: SQLiteChannelStore
    let now = Date(timeIntervalSince1970: 1_700_000_000)
    let environment: IngestEnvironment

    init() throws {
        channels = try SQLiteChannelStore(path: nil)
        let logger = Logger(label: "test")
        let configuration = try IngestConfiguration(nodeID: "node-1")
        let now = now
        environment = IngestEnvironment(configuration: configuration, bus: bus, sessions: InMemorySessionStore(),
                                        channels: channels, hub: FanoutHub(bus: bus, logger: logger), now: { now }, logger: logger)
    }

    /// A live publisher of a new channel, signed with its secret.
    private func live(_ name: String) async throws -> (StreamChannel, any RTMPPublishSink) {
        let channel = try await channels.create(StreamChannel(name: name), pushSecret: "secret-\(name)")
        let sign = PushSignature(secret: "secret-\(name)").sign(path: "/stream/\(channel.streamName)",
                                                               expires: Int64(now.timeIntervalSince1970) + 60)
        let request = StreamRequest(app: "stream", name: channel.streamName, query: ["sign": sign],
                                    tcURL: "rtmp://127.0.0.1/stream", publishType: "live")
        let connection = RTMPConnection(channel: EmbeddedChannel(), remoteAddress: "127.0.0.1:5000")
        guard case .accept(let sink) = await IngestPolicy(environment: environment).authorizePublish(request, connection: connection) else {
            throw IngestError(.invalidConfiguration, "publish of \(name) refused")
        }
        return (channel, sink)
    }

    @Test func publishersOfChangedChannelsAreStoppedAndOthersAreNot() async throws {
        let (untouched, sink0) = try await live("untouched")
        let (renamed, sink1) = try await live("renamed")
        let (disabled, sink2) = try await live("disabled")
        let (expired, sink3) = try await live("expired")
        let (deleted, sink4) = try await live("deleted")
        let (rotated, sink5) = try await live("rotated")
        defer { for sink in [sink0, sink1, sink2, sink3, sink4, sink5] { sink.ended(.stopped) } }
        let revalidation = PublishRevalidation(environment: environment)
        #expect(await revalidation.revalidate().isEmpty)

        var changed = renamed
        changed.name = "renamed again"
        _ = try await channels.update(changed, ifRevision: nil)
        changed = disabled
        changed.enabled = false
        _ = try await channels.update(changed, ifRevision: nil)
        changed = expired
        changed.expiresAt = now.addingTimeInterval(-1)
        _ = try await channels.update(changed, ifRevision: nil)
        try await channels.delete(deleted.id, ifRevision: nil)
        _ = try await channels.rotatePushSecret(of: rotated.id, to: "new-secret")

        let stopped = Set(await revalidation.revalidate().map(\.rawValue))
        #expect(stopped == Set([disabled, expired, deleted, rotated].map(\.streamName)))
        #expect(!stopped.contains(untouched.streamName) && !stopped.contains(renamed.streamName))
        await bus.shutdown()
    }
}
