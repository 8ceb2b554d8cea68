import Events
import Foundation
import Logging
import ServiceLifecycle
import State

/// Once a second, on every node that serves viewers or publishers: reports this node's viewers
/// to session state (every `reportEvery` seconds, so every API node can sum the cluster's), and
/// for each stream whose publisher is on this node writes one `StreamSample` of its history
/// (ingest rates from its source frames on the bus, viewers summed over the cluster) to session
/// state, where any API node reads it (`GET /api/v1/streams/{id}/history`).
public final class StreamSampler: Service {
    public struct Configuration: Sendable {
        /// Between two samples. Default one second.
        public var interval: Duration
        /// Viewer reports go out every this many samples. Default 2.
        public var reportEvery: Int
        /// How long a report counts without the next one. Default 6 s.
        public var reportTTL: Duration
        /// How long history is kept after its newest sample. Default one hour.
        public var historyTTL: Duration
        /// Streams sampled at once on this node; more are left out. Default 256.
        public var maxStreams: Int

        public init(interval: Duration = .seconds(1), reportEvery: Int = 2, reportTTL: Duration = .seconds(6),
                    historyTTL: Duration = .seconds(3600), maxStreams: Int = 256) {
            self.interval = interval
            self.reportEvery = max(1, reportEvery)
            self.reportTTL = reportTTL
            self.historyTTL = historyTTL
            self.maxStreams = max(0, maxStreams)
        }
    }

    /// A stream sampled here: its meter, the task feeding it, and the last reading.
    struct Sampled {
        var session: UInt64
        var meter: IngestMeter
        var reader: Task<Void, Never>
        var last: IngestMeter.Totals
        var lastAt: ContinuousClock.Instant
        /// Frames the stream's viewers on this node had dropped at the last sample.
        var lastDropped = 0
    }

    let census: ViewerCensus
    let bus: any EventBus
    let configuration: Configuration
    let logger: Logger

    public init(census: ViewerCensus, bus: any EventBus, configuration: Configuration = .init(), logger: Logger) {
        self.census = census
        self.bus = bus
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var sampled: [StreamID: Sampled] = [:]
            var tick = 0
            while !Task.isCancelled {
                try? await Task.sleep(for: self.configuration.interval)
                guard !Task.isCancelled else { break }
                tick &+= 1
                await self.step(tick: tick, sampled: &sampled)
            }
            for stream in sampled.values { stream.reader.cancel() }
        }
    }

    /// One second: the report (every `reportEvery`), then a sample of each local stream.
    func step(tick: Int, sampled: inout [StreamID: Sampled]) async {
        if tick % configuration.reportEvery == 0 {
            do {
                try await census.sessions.setViewerCounts(census.local(), node: census.node, ttl: configuration.reportTTL)
            } catch {
                logger.warning("viewer counts not reported", metadata: ["error": "\(error)"])
            }
        }
        let published: [StreamSession]
        do {
            published = try await census.sessions.liveSessions().filter { $0.node == census.node }
        } catch {
            logger.warning("streams not sampled: session state unavailable", metadata: ["error": "\(error)"])
            return
        }
        follow(published, sampled: &sampled)
        guard !sampled.isEmpty else { return }
        let viewers = await census.cluster()
        let now = ContinuousClock.now
        for (id, stream) in sampled {
            let reading = stream.meter.reading
            let seconds = Self.seconds(now - stream.lastAt)
            let rates = IngestMeter.rates(from: stream.last, to: reading, seconds: seconds)
            let dropped = census.droppedFrames(of: id)
            let sample = StreamSample(at: Date(), ingestKbps: rates.ingestKbps, frameRate: rates.frameRate,
                                      keyframeIntervalSeconds: reading.keyframeInterval.map { Double($0) / 1000 },
                                      audioKbps: rates.audioKbps, viewers: viewers[id] ?? [:],
                                      droppedFrames: max(0, dropped - stream.lastDropped))
            sampled[id]?.last = reading
            sampled[id]?.lastDropped = dropped
            sampled[id]?.lastAt = now
            do {
                try await census.sessions.appendSample(sample, of: id, ttl: configuration.historyTTL)
            } catch {
                logger.warning("history sample not stored", metadata: ["stream": "\(id)", "error": "\(error)"])
            }
        }
    }

    /// Starts metering streams that began publishing here and stops those that ended (or began
    /// a new session: its meter starts again).
    func follow(_ published: [StreamSession], sampled: inout [StreamID: Sampled]) {
        let current = Dictionary(published.prefix(configuration.maxStreams).map { ($0.streamID, $0.sessionID) },
                                 uniquingKeysWith: { first, _ in first })
        for (id, stream) in sampled where current[id] != stream.session {
            stream.reader.cancel()
            sampled[id] = nil
        }
        for (id, session) in current where sampled[id] == nil {
            let meter = IngestMeter()
            let frames = bus.subscribe(to: .mediaSource, key: id.rawValue, from: .end)
            let reader = Task {
                await withTaskCancellationHandler {
                    do {
                        for try await delivery in frames {
                            guard case .frame(let frame) = delivery.record.value, frame.sessionID == session else { continue }
                            meter.count(frame, publishedAt: delivery.publishedAt, now: Date())
                        }
                    } catch {}
                } onCancel: {
                    Task { await frames.close() }
                }
            }
            sampled[id] = Sampled(session: session, meter: meter, reader: reader, last: meter.reading, lastAt: .now)
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
