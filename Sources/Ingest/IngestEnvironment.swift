import Access
import Events
import Fanout
import Foundation
import Logging
import State

/// What the ingest service works with, passed down to each connection's policy and publisher.
public struct IngestEnvironment: Sendable {
    public var configuration: IngestConfiguration
    public var bus: any EventBus
    public var sessions: any SessionStore
    /// Channels and their push secrets.
    public var channels: any ChannelStore
    public var hub: FanoutHub
    /// Admission hooks and signed play URLs.
    public var access: PlaybackAccess
    /// Where publishers note their headers for nodes that join their streams mid-session; nil
    /// where no other node reads them (one machine).
    public var playbackStarts: PlaybackStartRecorder?
    /// Publishers on this node, for kicking.
    public let publishers = PublisherRegistry()
    /// The clock push signatures are checked against.
    public var now: @Sendable () -> Date
    public var logger: Logger

    public init(configuration: IngestConfiguration, bus: any EventBus, sessions: any SessionStore,
                channels: any ChannelStore, hub: FanoutHub, access: PlaybackAccess? = nil,
                now: @escaping @Sendable () -> Date = { Date() }, logger: Logger) {
        self.configuration = configuration
        self.bus = bus
        self.sessions = sessions
        self.channels = channels
        self.hub = hub
        self.access = access ?? PlaybackAccess(channels: channels, now: now, logger: logger)
        self.now = now
        self.logger = logger
    }

    /// Publishes a lifecycle event; a failure is logged, never thrown at the publisher.
    func announce(_ event: LifecycleEvent) {
        do {
            try bus.publish(BusRecord(key: event.key, value: .lifecycle(event)), to: .streamLifecycle)
        } catch {
            logger.error("lifecycle event not published", metadata: ["type": "\(event.type)", "error": "\(error)"])
        }
    }
}
