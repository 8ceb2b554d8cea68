import Events
import Foundation
import NIOCore

/// Reading streams on demand (`PackagingFeed`): the first request for a stream's packaged output
/// starts a keyed read of it, later requests keep it going, and a stream without requests for
/// `idleSeconds` stops being read. Requests wait on promises, readers on deadlines: nothing polls.
extension PackagerHub {
    /// Whether streams are read only while requests ask for them.
    public var readsOnDemand: Bool { onDemand != nil }

    /// Streams being read on demand now.
    public var streamsRead: [StreamID] { streams.withLockedValue { Array($0.readers.keys) }.sorted() }

    /// The package of `stream`'s `rendition` ("" the source; nil any rendition's: for the
    /// presentations over all of them). On demand, the request counts as one for the stream: it
    /// starts reading the stream if it is live and not read yet, and waits (at most
    /// `firstPackageSeconds`) for the package to begin. Nil: not live, not packaged here (its
    /// channel packages nothing, no such rendition) or not begun in time.
    public func package(opening stream: StreamID, rendition: String?, eventLoop: any EventLoop) -> EventLoopFuture<StreamPackage?> {
        guard let feed = onDemand else {
            return eventLoop.makeSucceededFuture(rendition.flatMap { package(for: stream, rendition: $0) } ?? anyRendition(of: stream))
        }
        let promise = eventLoop.makePromise(of: StreamPackage?.self)
        let (found, waiter, generation) = streams.withLockedValue { streams -> (StreamPackage?, UInt64?, UInt64?) in
            streams.nextID &+= 1
            let id = streams.nextID
            let reading = streams.readers[stream] != nil
            if reading {
                streams.readers[stream]?.lastRequest = .now()
                if let found = streams.package(of: stream, rendition: rendition, caughtUpOnly: true) { return (found, nil, nil) }
                // No such rendition: answered below, outside the lock, with nothing.
                if streams.lacks(stream, rendition: rendition) { return (nil, nil, nil) }
            }
            streams.waiters[stream, default: []].append(Waiter(id: id, rendition: rendition, promise: promise))
            guard !reading else { return (nil, id, nil) }
            forget(stream, in: &streams)  // leftovers of an earlier reading
            streams.readers[stream] = Reader(generation: id, lastRequest: .now())
            return (nil, id, id)
        }
        if found != nil || (waiter == nil && generation == nil) {
            promise.succeed(found)
            return promise.futureResult
        }
        if let waiter {
            let timeout = eventLoop.scheduleTask(in: .nanoseconds(Int64(feed.firstPackageSeconds * 1e9))) { [self] in
                // Past the wait, whatever there is: a package still catching up, or none.
                let expired = streams.withLockedValue { streams -> (Waiter, StreamPackage?)? in
                    guard let index = streams.waiters[stream]?.firstIndex(where: { $0.id == waiter }),
                          let expired = streams.waiters[stream]?.remove(at: index) else { return nil }
                    return (expired, streams.package(of: stream, rendition: rendition, caughtUpOnly: false))
                }
                expired?.0.promise.succeed(expired?.1)
            }
            promise.futureResult.whenComplete { _ in timeout.cancel() }
        }
        if let generation {
            Task { await self.startReading(stream, generation: generation, feed: feed) }
        }
        return promise.futureResult
    }

    private func anyRendition(of stream: StreamID) -> StreamPackage? {
        renditions(of: stream).first.flatMap { package(for: stream, rendition: $0) }
    }

    /// Looks up where to start and starts reading; a stream that is not live (or whose start
    /// session state cannot say) answers its waiting requests with nothing.
    private func startReading(_ stream: StreamID, generation: UInt64, feed: PackagingFeed) async {
        // Subscribed at the source partition's end before session state is asked: whatever it has
        // not recorded yet is then read here.
        let fromNow = bus.subscribe(to: .mediaSource, key: stream.rawValue, from: .end)
        let start: PackagingFeed.Start?
        do {
            start = try await feed.start(stream)
        } catch {
            logger.warning("session state does not answer; stream not packaged", metadata: ["stream": "\(stream)", "error": "\(error)"])
            start = nil
        }
        guard let start else {
            await fromNow.close()
            abandon(stream, generation: generation)
            return
        }
        let known = Set(start.headers.map(\.rendition).filter { !$0.isEmpty })
        streams.withLockedValue { streams in
            if streams.readers[stream]?.generation == generation { streams.readers[stream]?.renditions = known }
        }
        if let previous = streams.withLockedValue({ $0.stopping[stream] }) { await previous.task.value }
        if start.sourceOffset != nil { await fromNow.close() }
        let renditions = bus.subscribe(to: .mediaRenditions, key: stream.rawValue,
                                       from: start.renditionsOffset.map(SubscriptionStart.offset) ?? .end)
        let task = Task {
            await self.handle(start.headers, of: stream, generation)
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    if let offset = start.sourceOffset {
                        await self.read(self.bus.subscribe(to: .mediaSource, key: stream.rawValue, from: .offset(offset)), of: stream, generation)
                    } else {
                        await self.readFromNow(fromNow, of: stream, generation, known: start.headers, feed: feed)
                    }
                }
                group.addTask { await self.read(renditions, of: stream, generation) }
                group.addTask { await self.watch(stream, generation, feed: feed) }
                await group.next()  // the watch ends when reading should stop
                group.cancelAll()
            }
            self.streams.withLockedValue { streams in
                if streams.stopping[stream]?.generation == generation { streams.stopping[stream] = nil }
            }
        }
        let current = streams.withLockedValue { streams in
            guard streams.readers[stream]?.generation == generation else { return false }
            streams.readers[stream]?.task = task
            return true
        }
        if current {
            logger.info("reading stream for packaging on this node", metadata: [
                "stream": "\(stream)", "source": "\(start.sourceOffset.map(String.init) ?? "now")",
                "renditions": "\(start.renditionsOffset.map(String.init) ?? "now")",
            ])
        } else {
            task.cancel()  // stopped meanwhile
        }
    }

    /// Reads a stream that has just begun (no segment start recorded when its first request
    /// came) from the end of its source partition. Nothing polls session state: the first frame
    /// read is the signal to ask it once more. A segment start recorded by then that is older than
    /// that frame (published just before reading began) is where reading starts after all;
    /// otherwise it goes on here (the timeline begins at the first segment start it reads).
    private func readFromNow(_ fromNow: BusSubscription, of stream: StreamID, _ generation: UInt64,
                             known headers: [MediaFrame], feed: PackagingFeed) async {
        var frames = fromNow.makeAsyncIterator()
        guard let first = try? await frames.next() else { return }
        let again = try? await feed.start(stream)
        // Headers recorded since the first look (ingest writes them as the stream begins).
        if let latest = again?.headers, latest != headers { await handle(latest, of: stream, generation) }
        if let offset = again?.sourceOffset, offset < first.offset {
            await fromNow.close()
            await read(bus.subscribe(to: .mediaSource, key: stream.rawValue, from: .offset(offset)), of: stream, generation)
            return
        }
        await deliver(first, of: stream, generation)
        await read(fromNow, of: stream, generation)
    }

    private func handle(_ headers: [MediaFrame], of stream: StreamID, _ generation: UInt64) async {
        for header in headers where isReading(stream, generation) {
            await handle(header, of: stream, arrival: Date())
        }
    }

    /// A frame published less than this long before it was read is at the live edge.
    static var liveEdgeSeconds: Double { 3 }

    /// `key`'s package got a frame from the live edge: requests waiting for it are answered.
    private func reachedLiveEdge(_ key: Key, _ generation: UInt64) {
        let (waiting, package, missing) = streams.withLockedValue { streams -> ([Waiter], StreamPackage?, [Waiter]) in
            guard streams.readers[key.stream]?.generation == generation, streams.caughtUp.insert(key).inserted else { return ([], nil, []) }
            let waiting = streams.takeWaiters(of: key.stream, answeredBy: key.rendition)
            return (waiting, streams.packages[key], streams.takeWaitersForMissingRenditions(of: key.stream))
        }
        for waiter in waiting { waiter.promise.succeed(package) }
        for waiter in missing { waiter.promise.succeed(nil) }
    }

    func isReading(_ stream: StreamID, _ generation: UInt64) -> Bool {
        streams.withLockedValue { $0.readers[stream]?.generation == generation }
    }

    private func read(_ subscription: BusSubscription, of stream: StreamID, _ generation: UInt64) async {
        do {
            for try await delivery in subscription {
                // A stopped reader's last frames must not make packages nobody feeds.
                guard !Task.isCancelled, isReading(stream, generation) else { break }
                await deliver(delivery, of: stream, generation)
            }
        } catch {
            logger.error("media subscription failed", metadata: ["stream": "\(stream)", "error": "\(error)"])
        }
        await subscription.close()
    }

    private func deliver(_ delivery: BusDelivery, of stream: StreamID, _ generation: UInt64) async {
        guard case .frame(let frame) = delivery.record.value, delivery.record.key == stream.rawValue else { return }
        let now = Date()
        let key = await handle(frame, of: stream, arrival: now)
        if let key, now.timeIntervalSince(delivery.publishedAt) < Self.liveEdgeSeconds { reachedLiveEdge(key, generation) }
    }

    /// Returns once `stream` has had no request for `idleSeconds` (its reading then stopped), or
    /// when cancelled. Meanwhile checks every `liveCheckSeconds` that the stream is still live.
    private func watch(_ stream: StreamID, _ generation: UInt64, feed: PackagingFeed) async {
        var nextLiveCheck = NIODeadline.now() + Self.amount(feed.liveCheckSeconds)
        while !Task.isCancelled {
            guard let lastRequest = streams.withLockedValue({ $0.readers[stream]?.lastRequest }) else { return }
            let wake = min(lastRequest + Self.amount(feed.idleSeconds), nextLiveCheck)
            let delay = wake - NIODeadline.now()
            if delay > .zero { try? await Task.sleep(nanoseconds: UInt64(delay.nanoseconds)) }
            if Task.isCancelled || stopIfIdle(stream, generation, idleSeconds: feed.idleSeconds, now: .now()) { return }
            if NIODeadline.now() >= nextLiveCheck {
                nextLiveCheck = .now() + Self.amount(feed.liveCheckSeconds)
                if await isLive(stream, feed: feed) == false { endLiveSessions(of: stream) }
            }
        }
    }

    /// Whether session state lists `stream` as live; nil when it does not answer.
    private func isLive(_ stream: StreamID, feed: PackagingFeed) async -> Bool? {
        do {
            return try await feed.start(stream) != nil
        } catch {
            return nil
        }
    }

    /// Stops reading `stream` if its last request is `idleSeconds` older than `now`; its packages
    /// go with it (a later request reads it afresh). Whether it stopped.
    /// - Parameter generation: only that reading of the stream; nil: whichever is going on.
    func stopIfIdle(_ stream: StreamID, _ generation: UInt64? = nil, idleSeconds: Double, now: NIODeadline) -> Bool {
        let stopped = streams.withLockedValue { streams -> Task<Void, Never>?? in
            guard let reader = streams.readers[stream], generation == nil || reader.generation == generation,
                  now - reader.lastRequest >= Self.amount(idleSeconds) else { return nil }
            return .some(forget(stream, in: &streams))
        }
        guard let task = stopped else { return false }
        task?.cancel()
        logger.info("stopped reading stream; no requests here", metadata: ["stream": "\(stream)"])
        return true
    }

    /// Session state no longer lists the stream as live (its ingest node died without ending
    /// it): its live packages end their playlists; a republish's first frame begins them again.
    private func endLiveSessions(of stream: StreamID) {
        let live = streams.withLockedValue { streams in
            let keys = streams.sessions.keys.filter { $0.stream == stream }
            for key in keys { streams.sessions[key] = nil }
            return keys.compactMap { streams.packages[$0] }.filter(\.isLive)
        }
        for package in live { package.finish(at: Date()) }
    }

    /// A first request found the stream not live: nothing is read, and whoever waits hears so.
    private func abandon(_ stream: StreamID, generation: UInt64) {
        let waiting = streams.withLockedValue { streams -> [Waiter] in
            guard streams.readers[stream]?.generation == generation else { return [] }
            streams.readers[stream] = nil
            return streams.waiters.removeValue(forKey: stream) ?? []
        }
        for waiter in waiting { waiter.promise.succeed(nil) }
    }

    /// Everything about `stream` but its waiting requests (a new reader starts for them); returns
    /// its reading task, to be cancelled outside the lock.
    @discardableResult
    private func forget(_ stream: StreamID, in streams: inout Streams) -> Task<Void, Never>? {
        defer { streams.settings[stream] = nil }
        for key in streams.packages.keys where key.stream == stream { streams.packages[key] = nil }
        for key in streams.sessions.keys where key.stream == stream { streams.sessions[key] = nil }
        streams.caughtUp = streams.caughtUp.filter { $0.stream != stream }
        guard let reader = streams.readers.removeValue(forKey: stream), let task = reader.task else { return nil }
        streams.stopping[stream] = (reader.generation, task)
        return task
    }

    func stopAllReaders() {
        let (tasks, waiting) = streams.withLockedValue { streams -> ([Task<Void, Never>], [Waiter]) in
            let tasks = Array(streams.readers.keys).compactMap { forget($0, in: &streams) }
            defer { streams.waiters.removeAll() }
            return (tasks, streams.waiters.values.flatMap { $0 })
        }
        for task in tasks { task.cancel() }
        for waiter in waiting { waiter.promise.succeed(nil) }
    }

    func waitForCancellation() async {
        let (never, continuation) = AsyncStream.makeStream(of: Never.self)
        await withTaskCancellationHandler {
            for await _ in never {}
        } onCancel: {
            continuation.finish()
        }
    }

    static func amount(_ seconds: Double) -> TimeAmount { .nanoseconds(Int64(seconds * 1_000_000_000)) }
}
