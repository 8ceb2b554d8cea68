import Events
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Transcodes every live stream whose channel asks for it (a ladder, a watermark or both):
/// source frames from `sluice.media.source`, rendition frames to `sluice.media.renditions`.
/// Each stream gets its own thread; a stream whose transcoding cannot start is logged and played
/// from its source only.
public final class TranscodeWorker: Service, Sendable {
    /// A stream's transcoding, or nil for none.
    public typealias SettingsLookup = @Sendable (StreamID) async -> TranscodeSettings?

    private struct Stream {
        var sessionID: UInt64
        var transcoder: StreamTranscoder?
    }

    private let bus: any EventBus
    private let subscription: BusSubscription
    private let settings: SettingsLookup
    private let logger: Logger
    private let streams = NIOLockedValueBox([StreamID: Stream]())
    public let latency = TranscodeLatency()

    /// Streams being transcoded now.
    public var activeStreams: Int { streams.withLockedValue { $0.values.filter { $0.transcoder != nil }.count } }

    /// Source video frames dropped (to the next keyframe) because transcoding fell behind, since start.
    public var droppedFrames: Int { dropped.withLockedValue { $0 } + streams.withLockedValue { $0.values.compactMap(\.transcoder) }
        .reduce(0) { $0 + $1.droppedFrames } }
    private let dropped = NIOLockedValueBox(0)

    public init(bus: any EventBus, feed: WorkerFeed = .fromNow, logger: Logger, settings: @escaping SettingsLookup) {
        self.bus = bus
        subscription = bus.subscribe(to: .mediaSource, as: feed)
        self.settings = settings
        self.logger = logger
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            for try await delivery in self.subscription {
                guard case .frame(let frame) = delivery.record.value, frame.rendition.isEmpty,
                      let id = StreamID(delivery.record.key) else { continue }
                await self.handle(frame, of: id)
            }
        }
        let running = streams.withLockedValue { streams in
            defer { streams.removeAll() }
            return streams.values.compactMap(\.transcoder)
        }
        for transcoder in running { await transcoder.finish(at: 0, sequence: 0) }
    }

    func handle(_ frame: MediaFrame, of id: StreamID) async {
        let current = streams.withLockedValue { $0[id] }
        if frame.kind == .end {
            guard current?.sessionID == frame.sessionID else { return }
            streams.withLockedValue { $0[id] = nil }
            await current?.transcoder?.finish(at: frame.dts, sequence: frame.sequence)
            dropped.withLockedValue { $0 += current?.transcoder?.droppedFrames ?? 0 }
            return
        }
        var transcoder = current?.transcoder
        if current?.sessionID != frame.sessionID {
            await current?.transcoder?.finish(at: frame.dts, sequence: frame.sequence)
            dropped.withLockedValue { $0 += current?.transcoder?.droppedFrames ?? 0 }
            transcoder = await begin(frame.sessionID, of: id)
        }
        transcoder?.submit(frame)
    }

    private func begin(_ sessionID: UInt64, of id: StreamID) async -> StreamTranscoder? {
        var transcoder: StreamTranscoder?
        if let settings = await settings(id) {
            do {
                let bus = bus
                let logger = logger
                transcoder = try StreamTranscoder(streamID: id, sessionID: sessionID, settings: settings, latency: latency,
                                                  logger: logger) { frames in
                    for frame in frames {
                        do {
                            try bus.publish(BusRecord(key: id.rawValue, value: .frame(frame)), to: .mediaRenditions)
                        } catch {
                            logger.error("rendition frame not published", metadata: ["stream": "\(id)", "error": "\(error)"])
                        }
                    }
                }
                logger.info("transcoding stream", metadata: [
                    "stream": "\(id)", "renditions": "\(settings.renditions.map(\.rawValue))",
                    "watermark": "\(!settings.watermark.isEmpty)",
                ])
            } catch {
                logger.error("transcoding not started; the stream plays from its source",
                             metadata: ["stream": "\(id)", "error": "\(error)"])
            }
        }
        streams.withLockedValue { $0[id] = Stream(sessionID: sessionID, transcoder: transcoder) }
        return transcoder
    }
}
