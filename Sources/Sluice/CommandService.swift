import API
import Access
import Events
import Fanout
import Ingest
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Sends the cluster's commands (`sluice.commands`) and carries out the ones this node is for.
///
/// Every node runs one, whatever its roles: each reads the whole topic from its end with a
/// subscription of its own (an assigned read, never a shared consumer group: every node must
/// see every command; on Kafka the bus reaches the end by timestamp, since Tansu's
/// ListOffsets(latest) is broken). `CommandLedger` decides what this node does: the node whose
/// publisher registry holds a stream kicks it, every node with viewers of a stream drops them,
/// every node reloads settings, and a command id seen before is ignored. The API publishes a
/// command instead of acting on its own node, so `DELETE /api/v1/streams/{id}` works on any API
/// node; `sluice serve` takes the same path on its embedded bus.
final class CommandService: Service, Sendable {
    private struct Counts {
        var received = 0
        var duplicates = 0
        var carriedOut: [String: Int] = [:]
    }

    private let bus: any EventBus
    /// Made at construction, so no command published after the node exists is missed.
    private let subscription: BusSubscription
    private let publishers: PublisherRegistry
    private let hub: FanoutHub
    private let access: PlaybackAccess
    private let reload: @Sendable () async throws -> Void
    // Locked: the reading task decides and counts while `/metrics` reads the counts from an event loop;
    // neither is held across an await.
    private let ledger = NIOLockedValueBox(CommandLedger())
    private let counts = NIOLockedValueBox(Counts())  // see `ledger`
    private let logger: Logger

    /// - Parameters:
    ///   - publishers: this node's publishers (empty on nodes without the ingest role).
    ///   - hub: this node's fan-out, whose viewers a `viewers.drop` ends.
    ///   - access: this node's play checks, whose cached channel rules a `viewers.drop` clears.
    ///   - reload: reads the shared settings again (`settings.reload`).
    init(bus: any EventBus, publishers: PublisherRegistry, hub: FanoutHub, access: PlaybackAccess, logger: Logger,
         reload: @escaping @Sendable () async throws -> Void) {
        self.bus = bus
        self.subscription = bus.subscribe(to: .commands, from: .end)
        self.publishers = publishers
        self.hub = hub
        self.access = access
        self.reload = reload
        self.logger = logger
    }

    /// Puts a command on the bus for every node; returns its id.
    /// - Throws: `EventBusError` when the bus cannot take it (closed, queue full).
    @discardableResult
    func send(_ action: ClusterCommand.Action) throws -> String {
        let command = ClusterCommand(action)
        try bus.publish(BusRecord(key: command.key, value: .command(command)), to: .commands)
        logger.info("command sent", metadata: ["command": "\(command.type)", "id": "\(command.id)", "key": "\(command.key)"])
        return command.id
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            do {
                for try await delivery in self.subscription {
                    guard case .command(let command) = delivery.record.value else { continue }
                    await self.handle(command)
                }
            } catch {
                self.logger.error("command subscription failed; commands are not carried out on this node",
                                  metadata: ["error": "\(error)"])
            }
        }
    }

    /// Decides and carries out one command.
    func handle(_ command: ClusterCommand) async {
        // Every node forgets the old rules, viewers or not: the next request anywhere is
        // checked against the new ones.
        if case .dropViewers(let drop) = command.action { access.forget(stream: drop.streamID.rawValue) }
        let holdings = CommandLedger.Holdings(publisherSession: { [publishers] in publishers.session(of: $0) },
                                              hasViewers: { [hub] stream in Self.fanouts(of: stream, in: hub).contains { $0.viewerCount > 0 } })
        let decision = ledger.withLockedValue { $0.decide(command, holdings: holdings) }
        counts.withLockedValue { counts in
            counts.received += 1
            if decision == .duplicate { counts.duplicates += 1 }
        }
        let metadata: Logger.Metadata = ["command": "\(command.type)", "id": "\(command.id)", "key": "\(command.key)"]
        switch decision {
        case .kick(let stream, let session, let reason):
            guard publishers.kick(stream, session: session, description: reason) else { return }
            logger.notice("publisher stopped by a cluster command", metadata: metadata)
        case .dropViewers(let stream):
            for fanout in Self.fanouts(of: stream, in: hub) { fanout.dropViewers() }
            logger.notice("viewers dropped by a cluster command", metadata: metadata)
        case .reloadSettings:
            do {
                try await reload()
            } catch {
                logger.warning("settings not reloaded", metadata: metadata.merging(["error": "\(error)"]) { $1 })
                return
            }
        case .notHere, .duplicate:
            logger.debug("command not for this node", metadata: metadata.merging(["decision": "\(decision)"]) { $1 })
            return
        }
        counts.withLockedValue { $0.carriedOut[command.type, default: 0] += 1 }
    }

    /// The stream's fan-out and its renditions' on this node.
    private static func fanouts(of stream: StreamID, in hub: FanoutHub) -> [StreamFanout] {
        ([hub.fanout(for: stream)] + hub.renditions(of: stream).map { hub.fanout(for: stream, rendition: $0) }).compactMap { $0 }
    }

    /// What `/metrics` shows of the commands.
    var metrics: [WorkerMetric] {
        let counts = counts.withLockedValue { $0 }
        var metrics = [
            WorkerMetric("sluice_commands_received_total", "Cluster commands read from sluice.commands.", .counter,
                         value: Double(counts.received)),
            WorkerMetric("sluice_commands_duplicate_total", "Cluster commands ignored because their id was seen before.",
                         .counter, value: Double(counts.duplicates)),
        ]
        for type in ["publisher.kick", "viewers.drop", "settings.reload"] {
            metrics.append(WorkerMetric("sluice_commands_carried_out_total", "Cluster commands this node acted on, by type.",
                                        .counter, labels: [("type", type)], value: Double(counts.carriedOut[type] ?? 0)))
        }
        return metrics
    }
}
