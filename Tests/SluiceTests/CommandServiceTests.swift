import Foundation
import Testing
@testable import Sluice

/// Counts the settings reloads a command service asks for.
actor ReloadCalls {
    private(set) var count = 0
    func record() { count += 1 }
}

struct ReloadFailed: Error {}

/// What a node does with the cluster's commands, on the composition `sluice serve` builds
/// (`NodeCore.open` and `edge()`: SQLite in a fresh data dir, the embedded bus, no sockets).
@Suite(.timeLimit(.minutes(1))) struct CommandServiceTests {
    /// Runs `body` on a new node's core and edge, then closes the bus and the event loops.
    func withNode(_ body: (NodeCore, NodeCore.Edge) async throws -> Void) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-commands-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let options = try NodeOptions.parse(["--data-dir", folder.path, "--event-loops", "1", "--watermark-font", #filePath])
        let settings = try ServeSettings(options: options, roles: Set(Role.allCases), environment: [:])
        let core = try await NodeCore.open(settings, logger: .init(label: "test"))
        var failure: (any Error)?
        do {
            try await body(core, core.edge())
        } catch {
            failure = error
        }
        await core.bus.shutdown()
        try await core.group.shutdownGracefully()
        if let failure { throw failure }
    }

    /// A command service on the node's bus, hub and play checks whose reload is `reload`.
    func commands(_ core: NodeCore, _ edge: NodeCore.Edge,
                  reload: @escaping @Sendable () async throws -> Void) -> CommandService {
        CommandService(bus: core.bus, publishers: edge.environment.publishers, hub: core.hub, access: edge.access,
                       logger: core.logger, reload: reload)
    }

    /// The value of the `/metrics` line `name` (with `type` as its label, if given).
    static func metric(_ commands: CommandService, _ name: String, type: String? = nil) -> Double? {
        commands.metrics.first { metric in
            metric.name == name && (type.map { type in metric.labels.contains { $0 == ("type", type) } } ?? true)
        }?.value
    }

    /// Regression (2bdb18c): a node without viewers of the stream did not clear its cached channel
    /// rules, so a dropped viewer coming straight back to it was admitted under the old rules.
    @Test func viewersDropForgetsCachedRulesOnANodeWithoutViewers() async throws {
        try await withNode { core, edge in
            let channel = try await core.stores.channels.create(.init(name: "lobby"), pushSecret: "s3cret")
            let stream = channel.id.description
            let play = { await edge.access.authorizePlay(stream: stream, protocol: "flv", query: [:], clientIP: nil, askHook: false) }
            #expect(await play() == .allow)
            var signed = channel
            signed.playback.signedUrls = true
            _ = try await core.stores.channels.update(signed, ifRevision: nil)
            #expect(await play() == .allow, "the rules are cached for two seconds")

            await edge.commands.handle(.init(.dropViewers(.init(streamID: .init(stream)!))))
            guard case .deny(let code, _) = await play() else {
                Issue.record("still admitted under the old rules")
                return
            }
            #expect(code == "forbidden")
            // No viewers here: nothing to drop, but the rules were forgotten all the same.
            #expect(Self.metric(edge.commands, "sluice_commands_carried_out_total", type: "viewers.drop") == 0)
            #expect(Self.metric(edge.commands, "sluice_commands_received_total") == 1)
        }
    }

    @Test func settingsReloadReloadsAndADuplicateIdIsIgnored() async throws {
        try await withNode { core, edge in
            let calls = ReloadCalls()
            let commands = commands(core, edge) { await calls.record() }
            await commands.handle(.init(id: "reload-1", .reloadSettings))
            await commands.handle(.init(id: "reload-1", .reloadSettings))
            #expect(await calls.count == 1)
            await commands.handle(.init(id: "reload-2", .reloadSettings))
            #expect(await calls.count == 2)
            #expect(Self.metric(commands, "sluice_commands_received_total") == 3)
            #expect(Self.metric(commands, "sluice_commands_duplicate_total") == 1)
            #expect(Self.metric(commands, "sluice_commands_carried_out_total", type: "settings.reload") == 2)
        }
    }

    @Test func aFailedReloadIsNotCountedAsCarriedOut() async throws {
        try await withNode { core, edge in
            let calls = ReloadCalls()
            let commands = commands(core, edge) {
                await calls.record()
                throw ReloadFailed()
            }
            await commands.handle(.init(.reloadSettings))
            #expect(await calls.count == 1)
            #expect(Self.metric(commands, "sluice_commands_received_total") == 1)
            #expect(Self.metric(commands, "sluice_commands_carried_out_total", type: "settings.reload") == 0)
        }
    }

    /// `send` puts the command on `sluice.commands`, where every node (this one too) reads it.
    @Test func sentCommandsReachTheBus() async throws {
        try await withNode { core, edge in
            let subscription = core.bus.subscribe(to: .commands, from: .end)
            let id = try edge.commands.send(.reloadSettings)
            var deliveries = subscription.makeAsyncIterator()
            guard case .command(let command)? = try await deliveries.next()?.record.value else {
                Issue.record("no command on the bus")
                return
            }
            #expect(command.id == id && command.type == "settings.reload" && command.key == "settings")
        }
    }
}
