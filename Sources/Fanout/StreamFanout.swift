import Events
import Media
import NIOConcurrencyHelpers
import NIOCore

/// The fan-out of one publish session: it serializes each frame once per output format, keeps
/// what a joining viewer needs (metadata, sequence headers, the last GOP), and hands frames to
/// every viewer's event loop. Publishing never waits for a viewer.
public final class StreamFanout: Sendable {
    public struct Configuration: Sendable {
        /// Media a viewer may fall behind before whole GOPs are dropped, ms. Default 2000.
        public var maxViewerLag: Int64
        /// Largest GOP cached for joining viewers, bytes; a longer GOP is not cached. Default 16 MiB.
        public var maxGOPBytes: Int
        /// FLV bytes a viewer's backlog may hold before whole GOPs are dropped. With timestamps
        /// that stand still the lag bound never trips; this one does. Default 8 MiB.
        public var maxViewerBytes: Int
        /// Frames a viewer's backlog may hold before whole GOPs are dropped. Default 4096.
        public var maxViewerFrames: Int
        /// Most frames cached for joining viewers; a GOP with more is not cached. Default 4096
        /// (a 30 s GOP at 60 fps with 48 kHz audio is about 3200).
        public var maxGOPFrames: Int

        public init(maxViewerLag: Int64 = 2000, maxGOPBytes: Int = 16 << 20, maxViewerBytes: Int = 8 << 20,
                    maxViewerFrames: Int = 4096, maxGOPFrames: Int = 4096) {
            self.maxViewerLag = max(0, maxViewerLag)
            self.maxGOPBytes = maxGOPBytes
            self.maxViewerBytes = max(1, maxViewerBytes)
            self.maxViewerFrames = max(1, maxViewerFrames)
            self.maxGOPFrames = maxGOPFrames
        }

        /// A joining viewer starts a whole cached GOP behind; with long GOPs that alone may
        /// exceed the backlog bounds, so its bounds leave room for the snapshot it was given.
        func viewerLimits(joiningWith snapshot: [PreparedFrame]) -> ViewerQueue.Limits {
            let start = snapshot.first { !$0.isConfiguration }?.dts ?? 0
            let cachedSpan = ViewerQueue.span(from: start, to: snapshot.last?.dts ?? start)
            let cachedBytes = snapshot.reduce(0) { $0 + $1.flvTag.readableBytes }
            let (duration, overflow) = cachedSpan.addingReportingOverflow(maxViewerLag / 2)
            return ViewerQueue.Limits(duration: overflow ? .max : max(maxViewerLag, duration),
                                      bytes: max(maxViewerBytes, cachedBytes + maxViewerBytes / 2),
                                      frames: max(maxViewerFrames, snapshot.count + maxViewerFrames / 2))
        }
    }

    private struct State {
        var metadata: PreparedFrame?
        var videoConfig: PreparedFrame?
        var audioConfig: PreparedFrame?
        var gop: [PreparedFrame] = []
        var gopBytes = 0
        var nextSequence: UInt64 = 1
        var groups: [ObjectIdentifier: LoopGroup] = [:]
        var viewers: [String: Int] = [:]
        var ended = false
        var lastKeyframeDTS: Int64?
        /// Milliseconds between the last two video keyframes.
        var keyframeInterval: Int64?
        var bytesQueued = 0
    }

    public let streamID: StreamID
    public let sessionID: UInt64
    private let configuration: Configuration
    private let pacers: LoopPacers
    private let counters: ViewerCounters
    /// Guards the cache, loop groups and counts: `publish` runs on the reading task, `attach`/`detach` on
    /// viewers' event loops, and neither may suspend; so a lock.
    private let state = NIOLockedValueBox(State())

    init(streamID: StreamID, sessionID: UInt64, configuration: Configuration, pacers: LoopPacers,
         counters: ViewerCounters) {
        self.streamID = streamID
        self.sessionID = sessionID
        self.configuration = configuration
        self.pacers = pacers
        self.counters = ViewerCounters(parent: counters)
    }

    /// Viewers attached now.
    /// Frames in the GOP cache: what a viewer attaching now gets first (after the headers).
    var gopFrameCount: Int { state.withLockedValue { $0.gop.count } }

    public var viewerCount: Int { state.withLockedValue { $0.viewers.values.reduce(0, +) } }

    /// Viewers attached now by protocol (`flv`, `rtmp`).
    public var viewersByProtocol: [String: Int] { state.withLockedValue { $0.viewers.filter { $0.value > 0 } } }

    /// Seconds between the stream's last two video keyframes; nil before the second.
    public var keyframeIntervalSeconds: Double? {
        state.withLockedValue { $0.keyframeInterval.map { Double($0) / 1000 } }
    }

    /// Frames this fan-out's viewers have had dropped (whole GOPs of a viewer that fell behind), so far.
    public var droppedFrames: Int { counters.droppedFrames }

    /// FLV bytes handed to viewers' queues so far (each frame once per viewer attached).
    public var bytesQueued: Int { state.withLockedValue { $0.bytesQueued } }

    /// Takes the next frame of the session. Called by one task, in stream order.
    func publish(_ frame: MediaFrame) {
        let groups: [LoopGroup] = state.withLockedValue { state in
            guard !state.ended else { return [] }
            let hasVideo = state.videoConfig != nil || frame.kind == .video
            let randomAccess = frame.kind == .video ? frame.isKeyframe && !frame.isSequenceHeader
                : frame.kind == .audio && !hasVideo && !frame.isSequenceHeader
            let prepared = PreparedFrame(frame, sequence: state.nextSequence, isRandomAccess: randomAccess)
            state.nextSequence += 1
            if frame.kind == .video, randomAccess {
                if let last = state.lastKeyframeDTS {
                    // Timestamps are the publisher's: they may stand still, go back or jump.
                    let (interval, overflow) = frame.dts.subtractingReportingOverflow(last)
                    if !overflow, interval > 0 { state.keyframeInterval = interval }
                }
                state.lastKeyframeDTS = frame.dts
            }
            state.bytesQueued += prepared.flvTag.readableBytes * state.viewers.values.reduce(0, +)
            remember(prepared, in: &state)
            return state.groups.isEmpty ? [] : Array(state.groups.values).map { $0.enqueue(prepared) }
        }
        for group in groups { group.scheduleDelivery() }
    }

    private func remember(_ frame: PreparedFrame, in state: inout State) {
        switch (frame.kind, frame.isConfiguration) {
        case (.metadata, _): state.metadata = frame
        case (.video, true): state.videoConfig = frame
        case (.audio, true): state.audioConfig = frame
        default:
            if frame.isRandomAccess {
                state.gop = [frame]
                state.gopBytes = frame.flvTag.readableBytes
            } else if !state.gop.isEmpty {
                state.gopBytes += frame.flvTag.readableBytes
                if state.gopBytes > configuration.maxGOPBytes || state.gop.count >= configuration.maxGOPFrames {
                    state.gop = []
                } else {
                    state.gop.append(frame)
                }
            }
        }
    }

    /// Adds a viewer on `channel` and writes it what it needs to start at once: for FLV the
    /// file header, then metadata, sequence headers and the cached GOP. Must be called on
    /// `channel.eventLoop`.
    ///
    /// - Parameter onEnd: called on the event loop when the stream ends (not when the viewer leaves).
    /// - Returns: the viewer, or `nil` if the stream already ended.
    public func attach(channel: any Channel, format: Viewer.Format,
                       onEnd: @escaping @Sendable () -> Void) -> Viewer? {
        attach(.channel(channel, format), on: channel.eventLoop, onEnd: onEnd)
    }

    /// Adds a player that takes frames as values (`FanoutSink`); it gets the join snapshot at
    /// once, then live frames, and `streamEnded` when the session ends. Must be called on
    /// `sink.eventLoop`.
    ///
    /// - Returns: the viewer (to detach), or `nil` if the stream already ended.
    public func attach(sink: any FanoutSink) -> Viewer? {
        attach(.sink(sink), on: sink.eventLoop, onEnd: {})
    }

    private func attach(_ output: Viewer.Output, on eventLoop: any EventLoop,
                        onEnd: @escaping @Sendable () -> Void) -> Viewer? {
        eventLoop.preconditionInEventLoop()
        let pacer = pacers.pacer(for: eventLoop)
        let viewer = Viewer(output: output, eventLoop: eventLoop, queueLimits: .init(), counters: counters, onEnd: onEnd)
        let joined: (snapshot: [PreparedFrame], through: UInt64, group: LoopGroup, hasAudio: Bool, hasVideo: Bool)? =
            state.withLockedValue { state in
                guard !state.ended else { return nil }
                let key = ObjectIdentifier(eventLoop)
                let group = state.groups[key] ?? LoopGroup(eventLoop: eventLoop, pacer: pacer)
                state.groups[key] = group
                state.viewers[viewer.protocolName, default: 0] += 1
                return (snapshot(state), state.nextSequence - 1, group, state.audioConfig != nil, state.videoConfig != nil)
            }
        guard let joined else { return nil }
        viewer.limitQueue(configuration.viewerLimits(joiningWith: joined.snapshot))
        pacer.viewerJoined()
        var header: ByteBuffer?
        if case .channel(_, .flv) = output { header = FLV.fileHeader(hasAudio: joined.hasAudio, hasVideo: joined.hasVideo) }
        // Frames already queued for this loop were in the snapshot.
        viewer.start(header: header, snapshot: joined.snapshot, through: joined.through)
        joined.group.add(viewer)
        return viewer
    }

    /// Removes a viewer that left. Must be called on its event loop.
    public func detach(_ viewer: Viewer) {
        viewer.eventLoop.preconditionInEventLoop()
        guard viewer.detach() else { return }
        let key = ObjectIdentifier(viewer.eventLoop)
        let group = state.withLockedValue { state -> LoopGroup? in
            state.viewers[viewer.protocolName, default: 1] -= 1
            return state.groups[key]
        }
        pacers.pacer(for: viewer.eventLoop).viewerLeft()
        group?.remove(viewer)
    }

    /// Ends every viewer attached now as if the stream had ended for it (its playback rules
    /// changed: it must be admitted again); the fan-out goes on for viewers who come back.
    /// Each viewer's protocol detaches it as usual.
    public func dropViewers() {
        let groups = state.withLockedValue { Array($0.groups.values) }
        for group in groups { group.endAll() }
    }

    /// The session ended: every viewer is told, after the frames it was already sent.
    func end() {
        let groups = state.withLockedValue { state -> [LoopGroup] in
            state.ended = true
            state.gop = []
            return Array(state.groups.values)
        }
        for group in groups { group.endAll() }
    }

    /// What a joining viewer needs first. Metadata is dated 0 (FLV readers take a script tag
    /// with another time for a data stream); sequence headers are dated at the cached GOP's start.
    private func snapshot(_ state: State) -> [PreparedFrame] {
        let start = state.gop.first?.dts ?? state.videoConfig?.dts ?? 0
        let metadata = state.metadata.map { $0.dts == 0 ? $0 : $0.retimed(to: 0) }
        let configs = [state.videoConfig, state.audioConfig].compactMap { $0 }.map {
            $0.dts == start ? $0 : $0.retimed(to: start)
        }
        return [metadata].compactMap { $0 } + configs + state.gop
    }
}
