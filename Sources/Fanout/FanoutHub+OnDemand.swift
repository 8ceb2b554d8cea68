import Events
import NIOCore
import State

/// Reading streams on demand (a cluster's API node): the first viewer of a stream starts a keyed
/// read of it at its newest keyframe (session state says where), later viewers share it, and a
/// stream without viewers for `idleSeconds` stops being read. Viewers wait on continuations, and a
/// stream that has just begun on the bus itself: nothing polls.
extension FanoutHub {
    /// How a cluster's API node reads streams on demand.
    public struct OnDemandFeed: Sendable {
        /// Whether a stream is live, and where reading it mid-session starts: its headers and
        /// newest keyframe (`SessionStore.playbackStart`). While it does not answer, streams being
        /// read are kept.
        public var sessions: any SessionStore
        public var idleSeconds: Double
        /// How long a first viewer waits for the stream's first frame before it is told the
        /// stream is not found.
        public var firstFrameSeconds: Double

        public init(sessions: any SessionStore, idleSeconds: Double = 5, firstFrameSeconds: Double = 5) {
            self.sessions = sessions
            self.idleSeconds = idleSeconds
            self.firstFrameSeconds = firstFrameSeconds
        }
    }

    /// Streams being read on demand now.
    public var streamsRead: [StreamID] { readers.withLockedValue { Array($0.keys) }.sorted() }

    /// The fan-out of `stream` (or a rendition), starting to read the stream if it is live and
    /// not read yet (`.onDemand`); waits for its first frame. Nil when it is not live.
    public func fanout(opening stream: StreamID, rendition: String = "") async -> StreamFanout? {
        if let fanout = fanout(for: stream, rendition: rendition) { return fanout }
        guard let onDemand else { return nil }
        let deadline = NIODeadline.now() + .milliseconds(Int64(onDemand.firstFrameSeconds * 1000))
        if readers.withLockedValue({ $0[stream] }) == nil {
            // Subscribed at the partition's end before session state is asked: whatever it has not
            // recorded yet is then read here.
            let fromNow = bus.subscribe(to: .mediaSource, key: stream.rawValue, from: .end)
            guard let start = try? await onDemand.sessions.playbackStart(of: stream) else {
                await fromNow.close()
                return nil
            }
            if let offset = start.keyframeOffset {
                await fromNow.close()
                startReading(stream, from: offset, headers: start.headers)
            } else {
                startReading(stream, fromNow: fromNow, headers: start.headers, sessions: onDemand.sessions)
            }
        }
        return await firstFanout(of: Key(stream: stream, rendition: rendition), by: deadline)
    }

    /// The fan-out of `key` as soon as its first frame makes it (`handle` resumes the waiter),
    /// or nil at `deadline` or on cancellation.
    private func firstFanout(of key: Key, by deadline: NIODeadline) async -> StreamFanout? {
        let number = streams.withLockedValue { streams in
            defer { streams.nextWaiter += 1 }
            return streams.nextWaiter
        }
        let timer = Task {
            try? await Task.sleep(for: .nanoseconds(max(0, (deadline - .now()).nanoseconds)))
            self.resumeWaiter(number, of: key, with: nil)
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<StreamFanout?, Never>) in
                let made = streams.withLockedValue { streams -> StreamFanout?? in
                    if let fanout = streams.fanouts[key] { return .some(fanout) }
                    if Task.isCancelled || deadline <= .now() { return .some(nil) }
                    streams.waiters[key, default: [:]][number] = continuation
                    return .none
                }
                if let made { continuation.resume(returning: made) }
            }
        } onCancel: {
            resumeWaiter(number, of: key, with: nil)
        }
    }

    private func resumeWaiter(_ number: UInt64, of key: Key, with fanout: StreamFanout?) {
        let waiter = streams.withLockedValue { $0.waiters[key]?.removeValue(forKey: number) }
        waiter?.resume(returning: fanout)
    }

    /// Reads `stream` from the keyframe at `offset` in its partition, its headers first.
    private func startReading(_ stream: StreamID, from offset: Int64, headers: [MediaFrame]) {
        let source = bus.subscribe(to: .mediaSource, key: stream.rawValue, from: .offset(offset))
        startReading(stream, from: "\(offset)") {
            for header in headers { await self.route(header, of: stream) }
            await self.read(source)
        }
    }

    /// Reads a stream that has just begun (no keyframe recorded when its first viewer came) from
    /// the end of its partition. Nothing polls session state: the first frame read is the signal
    /// to ask it once more. A keyframe recorded by then that is older than that frame (published
    /// just before reading began) is where reading starts after all; otherwise it goes on here,
    /// from the first keyframe read.
    private func startReading(_ stream: StreamID, fromNow: BusSubscription, headers: [MediaFrame], sessions: any SessionStore) {
        startReading(stream, from: "now") {
            for header in headers { await self.route(header, of: stream) }
            var frames = fromNow.makeAsyncIterator()
            guard let first = try? await frames.next() else { return }
            let again = try? await sessions.playbackStart(of: stream)
            // Headers recorded since the first look (ingest writes them as the stream begins).
            if let latest = again?.headers, latest != headers {
                for header in latest { await self.route(header, of: stream) }
            }
            if let offset = again?.keyframeOffset, offset < first.offset {
                await fromNow.close()
                await self.read(self.bus.subscribe(to: .mediaSource, key: stream.rawValue, from: .offset(offset)))
                return
            }
            var fromKeyframe = KeyframeGate()
            if case .frame(let frame) = first.record.value, fromKeyframe.passes(frame) { await self.route(frame, of: stream) }
            await self.read(fromNow, gate: fromKeyframe)
        }
    }

    /// Starts the task reading `stream` (`readSource`, and its renditions from now) unless another
    /// viewer's request started one first.
    private func startReading(_ stream: StreamID, from start: String, readSource: @escaping @Sendable () async -> Void) {
        let renditions = bus.subscribe(to: .mediaRenditions, key: stream.rawValue, from: .end)
        let task = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await readSource() }
                group.addTask { await self.read(renditions) }
            }
        }
        let started = readers.withLockedValue { readers in
            guard readers[stream] == nil else { return false }
            readers[stream] = (task, nil)
            return true
        }
        if started {
            logger.info("reading stream for viewers on this node", metadata: ["stream": "\(stream)", "from": "\(start)"])
        } else {
            task.cancel()  // another viewer's request started it first
        }
    }

    /// Passes a read begun mid-GOP on from its first keyframe: configurations (sequence headers,
    /// metadata) before it go through, other frames are passed over.
    struct KeyframeGate {
        private var open = false

        mutating func passes(_ frame: MediaFrame) -> Bool {
            guard !open else { return true }
            if frame.kind == .video, frame.isKeyframe, !frame.isSequenceHeader { open = true }
            return open || frame.isConfiguration || frame.kind == .end
        }
    }

    private func read(_ subscription: BusSubscription, gate: KeyframeGate? = nil) async {
        var gate = gate
        do {
            for try await delivery in subscription {
                // A stopped reader's last frames must not make a fan-out nobody feeds.
                guard !Task.isCancelled else { return }
                guard case .frame(let frame) = delivery.record.value, let id = StreamID(delivery.record.key),
                      gate?.passes(frame) != false else { continue }
                await route(frame, of: id)
            }
        } catch {
            logger.error("media subscription failed", metadata: ["error": "\(error)"])
        }
    }

    func route(_ delivery: BusDelivery) async {
        guard case .frame(let frame) = delivery.record.value, let id = StreamID(delivery.record.key) else { return }
        await route(frame, of: id)
    }

    /// Stops reading streams that have had no viewer here for `idleSeconds`, or that session
    /// state no longer lists as live (their ingest node died without ending them); their
    /// fan-outs end, and their viewers with them.
    private func stopReaders(idleSeconds: Double, notLive: Set<StreamID>) {
        let now = NIODeadline.now()
        let viewersByStream = streams.withLockedValue { streams in
            streams.fanouts.reduce(into: [StreamID: Int]()) { $0[$1.key.stream, default: 0] += $1.value.viewerCount }
        }
        let idle = readers.withLockedValue { readers -> [StreamID] in
            var stopped: [StreamID] = []
            for (stream, reader) in readers {
                let viewers = viewersByStream[stream] ?? 0
                if notLive.contains(stream) {
                    stopped.append(stream)
                } else if viewers > 0 {
                    readers[stream]?.idleSince = nil
                } else if let since = reader.idleSince {
                    if now - since >= .milliseconds(Int64(idleSeconds * 1000)) { stopped.append(stream) }
                } else {
                    readers[stream]?.idleSince = now
                }
            }
            for stream in stopped { readers.removeValue(forKey: stream)?.task.cancel() }
            return stopped
        }
        for stream in idle {
            let ended = streams.withLockedValue { streams in
                let keys = streams.fanouts.keys.filter { $0.stream == stream }
                defer {
                    for key in keys { streams.fanouts[key] = nil }
                    streams.sources[stream] = nil
                }
                return keys.compactMap { streams.fanouts[$0] }
            }
            for fanout in ended { fanout.end() }
            logger.info("stopped reading stream", metadata: ["stream": "\(stream)",
                                                             "why": "\(notLive.contains(stream) ? "no longer live" : "no viewers here")"])
        }
    }


    /// Until cancelled, once a second: stops reading streams without viewers or no longer live;
    /// then stops every reading.
    func lookAfterReaders(_ onDemand: OnDemandFeed) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            var notLive: Set<StreamID> = []
            for stream in readers.withLockedValue({ Array($0.keys) }) {
                do {
                    if try await onDemand.sessions.playbackStart(of: stream) == nil { notLive.insert(stream) }
                } catch {
                    // Session state does not answer: keep reading what is being read.
                }
            }
            stopReaders(idleSeconds: onDemand.idleSeconds, notLive: notLive)
        }
        let all = readers.withLockedValue { readers in
            defer { readers.removeAll() }
            return readers.values.map(\.task)
        }
        for task in all { task.cancel() }
    }
}
