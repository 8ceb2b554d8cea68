import Events
import Foundation
import Media
import NIOConcurrencyHelpers
import NIOCore

/// One stream's packaged outputs, shared by every HTTP request for it. The timeline sits behind
/// one lock; playlists are rendered once per change and shared; blocking requests wait as
/// promises and are answered the moment what they asked for exists.
public final class StreamPackage: Sendable {
    struct Waiter {
        var ready: @Sendable (LiveTimeline) -> Bool
        var resource: PackagedResource
        var request: PlaylistRequest
        var promise: EventLoopPromise<PackagedResponse>
        /// When it is answered `.timedOut` if nothing answered it before.
        var deadline: NIODeadline
    }

    struct State {
        var timeline: LiveTimeline
        var isLive = true
        var endedAt: Date?
        /// Bumped whenever a part or segment completes; keys the playlist cache.
        var version = 0
        var rendered: [String: (version: Int, body: ByteBuffer, tag: String)] = [:]
        var waiters: [Waiter] = []
        /// When the scheduled sweep for expired waiters runs; nil when none is scheduled.
        var sweepDue: NIODeadline?
        /// The DVR window's segments beyond memory (`StreamPackage+DVR`).
        var dvr: DVRState
        /// How long a blocking request waits: three target durations (RFC 8216bis §6.2.5.2), kept
        /// under the HTTP idle timeout. Worked out when the timeline moves, not per request (the
        /// target duration is a pass over the segments: 2.4 % of the core at 2000 parked clients).
        var waitLimit: TimeAmount

        init(timeline: LiveTimeline, dvr: DVRState) {
            self.timeline = timeline
            self.dvr = dvr
            waitLimit = Self.waitLimit(of: timeline)
        }

        mutating func timelineMoved() {
            version += 1
            waitLimit = Self.waitLimit(of: timeline)
        }

        static func waitLimit(of timeline: LiveTimeline) -> TimeAmount {
            .seconds(Int64(min(3 * timeline.targetDuration, 20)))
        }
    }

    /// How close together sweeps for expired waiters may run: a waiter may be answered
    /// `.timedOut` this much after its deadline.
    static let sweepGranularity = TimeAmount.milliseconds(50)
    /// Rendered playlists kept at most (each a playlist's text; a DVR window's can be megabytes).
    static let maxRendered = 128

    public let streamID: StreamID
    public let configuration: PackagingConfiguration
    /// The rendition packaged ("" for what plays at the stream's own URLs): its DVR archive's name.
    let rendition: String
    /// Where segments that left memory are read from, with a DVR window; nil: nowhere.
    let archive: DVRArchive?
    /// Guards the timeline, rendered playlists and waiters: fed by the reading task, read by requests that
    /// answer synchronously on every event loop; so a lock.
    let state: NIOLockedValueBox<State>

    init(streamID: StreamID, configuration: PackagingConfiguration, rendition: String = "", archive: DVRArchive? = nil) {
        self.streamID = streamID
        self.configuration = configuration
        self.rendition = rendition
        self.archive = configuration.dvrWindowSeconds > 0 ? archive : nil
        state = NIOLockedValueBox(State(timeline: LiveTimeline(configuration: configuration),
                                        dvr: DVRState(windowSeconds: configuration.dvrWindowSeconds)))
    }

    /// Live now (not only kept for a republish).
    public var isLive: Bool { state.withLockedValue { $0.isLive } }
    var endedAt: Date? { state.withLockedValue { $0.endedAt } }

    // MARK: Feeding

    func begin(sessionID: UInt64) {
        changeTimeline { state in
            state.timeline.begin(sessionID: sessionID)
            state.isLive = true
            state.endedAt = nil
        }
    }

    func append(_ frame: MediaFrame, arrival: Date) throws {
        var failure: (any Error)?
        changeTimeline { state in
            do { try state.timeline.append(frame, arrival: arrival) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    func finish(at date: Date) {
        changeTimeline { state in
            state.timeline.finish()
            state.isLive = false
            state.endedAt = date
        }
    }

    /// Runs `change`; if the timeline moved on, answers every waiter whose condition now holds
    /// (and, once the stream is over, every waiter) outside the lock.
    private func changeTimeline(_ change: (inout State) -> Void) {
        var archiveSince: Int64?
        let answered: [(EventLoopPromise<PackagedResponse>, PackagedResponse)] = state.withLockedValue { state in
            let before = state.timeline.progress
            change(&state)
            guard state.timeline.progress != before || !state.isLive else { return [] }
            state.timelineMoved()
            archiveSince = state.dvr.note(state.timeline, canRead: archive != nil)
            var answered: [(EventLoopPromise<PackagedResponse>, PackagedResponse)] = []
            let waiters = state.waiters
            state.waiters = []
            for waiter in waiters {
                if state.isLive && !waiter.ready(state.timeline) {
                    state.waiters.append(waiter)
                } else {
                    answered.append((waiter.promise, Self.render(waiter.resource, waiter.request, &state)))
                }
            }
            return answered
        }
        for (promise, response) in answered { promise.succeed(response) }
        if let archiveSince { readArchive(since: archiveSince) }
    }

    // MARK: Serving

    /// Answers a request for `resource`, at once or, for blocking playlist requests and preload
    /// hints, when what they ask for exists (at most `timeout`).
    public func respond(to resource: PackagedResource, request: PlaylistRequest, eventLoop: any EventLoop,
                        timeout: TimeAmount? = nil) -> EventLoopFuture<PackagedResponse> {
        // Parsed names and queries are in range already; values made in code are checked here
        // so none reaches the timeline's arithmetic.
        guard resource.numbersAreInRange else { return eventLoop.makeSucceededFuture(.notFound) }
        guard request.numbersAreInRange else {
            return eventLoop.makeSucceededFuture(.tooFarAhead("_HLS_msn or _HLS_part outside 0…\(UInt32.max)"))
        }
        let promise = eventLoop.makePromise(of: PackagedResponse.self)
        var sweep: NIODeadline?
        let immediate: PackagedResponse? = state.withLockedValue { state in
            switch Self.readiness(resource, request, state.timeline) {
            case .ready:
                return Self.render(resource, request, &state)
            case .tooFarAhead(let reason):
                return .tooFarAhead(reason)
            case .missing:
                return .notFound
            case .wait(let ready):
                guard state.isLive else { return Self.render(resource, request, &state) }
                let deadline = eventLoop.now + (timeout ?? state.waitLimit)
                state.waiters.append(Waiter(ready: ready, resource: resource, request: request, promise: promise, deadline: deadline))
                if state.sweepDue.map({ deadline < $0 }) ?? true {
                    state.sweepDue = deadline
                    sweep = deadline
                }
                return nil
            }
        }
        if let immediate { promise.succeed(immediate) }
        if let sweep { scheduleSweep(at: sweep, on: eventLoop) }
        return promise.futureResult
    }

    /// Waiters expire by sweeps, one scheduled at a time per stream, not by a timer each: an
    /// event loop cancels a timer by a linear search of all its timers (NIO's `removeFirst(where:)`),
    /// so answering 10 000 parked requests that each held one searched 10 000 timers 10 000 times.
    private func scheduleSweep(at due: NIODeadline, on eventLoop: any EventLoop) {
        eventLoop.scheduleTask(deadline: due) { [weak self] in self?.sweepExpired(due: due, on: eventLoop) }
    }

    /// Answers `.timedOut` to every waiter past its deadline and schedules the next sweep for the
    /// earliest deadline left, unless a sweep scheduled since for an earlier one has taken over.
    private func sweepExpired(due: NIODeadline, on eventLoop: any EventLoop) {
        let now = eventLoop.now
        let (expired, next) = state.withLockedValue { state -> ([EventLoopPromise<PackagedResponse>], NIODeadline?) in
            var expired: [EventLoopPromise<PackagedResponse>] = []
            var earliest: NIODeadline?
            state.waiters.removeAll { waiter in
                if waiter.deadline <= now {
                    expired.append(waiter.promise)
                    return true
                }
                earliest = min(earliest ?? waiter.deadline, waiter.deadline)
                return false
            }
            guard state.sweepDue == due else { return (expired, nil) }
            state.sweepDue = earliest.map { max($0, now + Self.sweepGranularity) }
            return (expired, state.sweepDue)
        }
        if let next { scheduleSweep(at: next, on: eventLoop) }
        for promise in expired { promise.succeed(.timedOut) }
    }

    private static func readiness(_ resource: PackagedResource, _ request: PlaylistRequest, _ timeline: LiveTimeline) -> Readiness {
        switch resource {
        case .llhlsMedia(let kind):
            if let sequence = request.mediaSequence {
                return timeline.blockingReadiness(kind, mediaSequence: sequence, part: request.part)
            }
            // Playlists are first served once they list a whole segment: some players (ffmpeg
            // 5.1's among them) cannot start from parts alone.
            return timeline.hasFinishedSegment(kind) ? .ready : .wait({ $0.hasFinishedSegment(kind) })
        case .classicPlaylist, .dashManifest, .llhlsMultivariant:
            return timeline.segments.contains(where: \.isComplete) ? .ready : .wait({ $0.segments.contains(where: \.isComplete) })
        case .cmafPart(let session, let kind, let sequence, let part):
            if timeline.part(session: session, kind, sequence, part) != nil { return .ready }
            // A preload hint names the next part before it exists: hold the request for it.
            guard timeline.isNextPart(session: session, kind, sequence, part) else { return .missing }
            return .wait({ $0.part(session: session, kind, sequence, part) != nil })
        case .tsSegment, .initSegment, .cmafSegment, .dashSegment:
            return .ready
        }
    }

    private static func render(_ resource: PackagedResource, _ request: PlaylistRequest, _ state: inout State) -> PackagedResponse {
        if resource.isPlaylist {
            let key = "\(resource.relativePath)|\(request.skip)|\(request.mediaSequence ?? -1)|\(request.part ?? -1)|\(request.start.map { "\($0)" } ?? "")"
            if let cached = state.rendered[key], cached.version == state.version {
                return .content(cached.body, contentType: resource.contentType, entityTag: cached.tag, isPlaylist: true)
            }
            let text: String
            switch playlistText(resource, request, state) {
            case nil: return .notFound
            case .failure(let reason)?: return .startUnavailable(reason)
            case .success(let rendered)?: text = rendered
            }
            let body = ByteBuffer(string: text)
            let tag = EntityTag.of(body)
            // Blocking requests key the cache by the part they name: keep only the current version's,
            // and never more than `maxRendered` (start-over instants are the client's to choose).
            if state.rendered.count >= 64 { state.rendered = state.rendered.filter { $0.value.version == state.version } }
            if state.rendered.count >= Self.maxRendered { state.rendered.removeAll(keepingCapacity: true) }
            state.rendered[key] = (state.version, body, tag)
            return .content(body, contentType: resource.contentType, entityTag: tag, isPlaylist: true)
        }
        guard let body = state.timeline.media(resource) else { return .notFound }
        return .content(body, contentType: resource.contentType, entityTag: "\"\(resource.relativePath)\"", isPlaylist: false)
    }

    private static func playlistText(_ resource: PackagedResource, _ request: PlaylistRequest,
                                     _ state: State) -> Result<String, StartUnavailable>? {
        let timeline = state.timeline
        // A blocking request gets the playlist as it stood when its part appeared: the same
        // bytes from every node, however late this one answers.
        // (A segment this node no longer has, or never had, gets the playlist as it stands.)
        var end: LiveTimeline.PlaylistEnd?
        if case .llhlsMedia(let kind) = resource {
            end = request.mediaSequence.flatMap { number in
                timeline.segment(number).map { _ in timeline.end(of: kind, answering: number, part: request.part) }
            }
        }
        // A DVR window, or a start-over: over the window's segments (docs/DVR.md).
        if state.dvr.listing != nil || request.start != nil { return windowText(resource, request, state, end: end) }
        let text: String?
        switch resource {
        case .classicPlaylist: text = timeline.classicPlaylist().render()
        case .llhlsMultivariant: text = timeline.multivariantPlaylist()?.render()
        case .llhlsMedia(let kind): text = timeline.lowLatencyPlaylist(kind, skip: request.skip, end: end)?.render()
        case .dashManifest: text = timeline.dashManifest()?.render()
        default: text = nil
        }
        return text.map { .success($0) }
    }
}

/// Strong entity tags from content: FNV-1a over the bytes.
enum EntityTag {
    static func of(_ body: ByteBuffer) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in body.readableBytesView {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return "\"\(String(hash, radix: 16))\""
    }
}

/// What a multivariant playlist says about a package as one of its variants.
public struct VariantFacts: Sendable, Hashable {
    /// RFC 6381 codec strings, video first.
    public var codecs: [String]
    public var size: PictureSize?
    public var frameRate: Double?
    /// The highest bit rate of a finished segment, bits per second; nil before one is finished.
    public var peakBitRate: Int?
}

extension StreamPackage {
    /// Codecs, picture size, frame rate and measured peak bit rate; nil before the tracks are known.
    public var variantFacts: VariantFacts? {
        state.withLockedValue { $0.timeline.variantFacts }
    }
}
