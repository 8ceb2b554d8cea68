import Events
import Foundation
import Media
import NIOCore

/// The packaging state machine of one stream: frames in, segments and parts out, for classic
/// HLS (MPEG-TS), LL-HLS and DASH (CMAF) at once, from one set of cut decisions.
///
/// Cuts follow the log alone, so any node packaging the stream produces the same names and
/// bytes whenever it started reading: segments begin where the frames' writer stamped them
/// (`MediaFrame.timeline`, decided by `SegmentCutter`: the first keyframe past the segment
/// target) and carry the stamped numbers, dates and discontinuities; parts end before they would
/// pass the part target, counted from the segment's start. Frames nobody stamped (tests, files)
/// are cut here by the same `SegmentCutter`. The video (or, without video, the audio) track
/// decides the boundaries; the other track closes its parts at the same media times as its
/// frames pass them.
struct LiveTimeline: Sendable {
    /// A decided cut: media time (ms) and whether a new segment starts there.
    private struct Boundary: Sendable {
        var time: Int64
        var startsSegment: Bool
    }

    /// The writer's word on a frame: its timeline stamp and whether it opens a segment.
    struct Cut {
        var stamp: MediaTimeline
        var startsSegment: Bool
    }

    /// A video frame waiting for the next one, which gives its duration.
    struct HeldFrame: Sendable {
        var dts: Int64
        var pts: Int64
        var isKeyframe: Bool
        var data: ByteBuffer
    }

    let configuration: PackagingConfiguration
    private(set) var segments: [SegmentRecord] = []
    /// Counts closed parts and finished track segments: what playlists list changes only when
    /// it moves, so callers compare it instead of the segments.
    private(set) var progress = 0
    private var tracks: TrackSet?
    /// Stamps the frames that arrive without a writer's timeline.
    private var cutter: SegmentCutter
    private(set) var lanes: [TrackKind: TrackLane] = [:]
    private var driver: TrackKind = .video
    private var followerBoundaries: [Boundary] = []
    private(set) var held: HeldFrame?
    private var partStart: Int64 = 0
    private(set) var frameInterval: Int64 = 0
    /// First and last video dts of the session and the frames between, for the frame rate.
    private(set) var videoClock: (first: Int64, last: Int64, frames: Int) = (0, 0, 0)
    private var transportStream: TransportStream?
    /// Each track's media time, from its publisher's untrusted timestamps.
    private var clocks: [TrackKind: MediaClock] = [:]
    /// Bytes taken in since the last part cut (all tracks, each frame's payload plus
    /// `PackagingConfiguration.frameOverhead`): what closes a part early when media time does
    /// not. (Segments are bounded by the writer's cutter.)
    private var partIntake = 0
    /// The driver's latest media time, ms.
    private var driverTime: Int64 = 0
    /// Where the tracks started, ms: follower frames from before it belong to a segment this node
    /// did not package (it started reading there), so they are left out, as the node that did
    /// package it put them in that one.
    private var startTime: Int64 = 0
    /// The caption channels of the video frames of each segment held (`CaptionLedger`).
    private(set) var captions = CaptionLedger()

    init(configuration: PackagingConfiguration) {
        self.configuration = configuration
        cutter = SegmentCutter(rules: configuration.cutRules, numbersFromClock: false)
    }

    /// The session being packaged, once its tracks are known.
    var currentTracks: TrackSet? { tracks }
    var isStarted: Bool { !lanes.isEmpty }

    // MARK: Sessions

    /// Starts packaging a new publish session (the previous one, if any, is finished first and
    /// the new one starts after a discontinuity).
    mutating func begin(sessionID: UInt64) {
        if tracks != nil { finish() }
        tracks = TrackSet(sessionID: sessionID)
        cutter.endSession()
        videoClock = (0, 0, 0)
        clocks = [:]
    }

    /// Ends the current session: its last parts and segments are closed with what they have.
    mutating func finish() {
        if let frame = held {
            held = nil
            appendVideo(frame, duration: max(frameInterval, 1))
        }
        if lanes[driver] != nil { close(driver, endsSegment: true) }
        for kind in lanes.keys where kind != driver {
            for boundary in followerBoundaries { close(kind, endsSegment: boundary.startsSegment) }
            close(kind, endsSegment: true)
        }
        // A segment opened by the last cut but given no media is taken back.
        if let last = segments.last, last.parts.isEmpty { segments.removeLast() }
        for index in segments.indices {
            for kind in segments[index].kinds { segments[index].finish(kind) }
        }
        progress += 1
        lanes = [:]
        followerBoundaries = []
        held = nil
        transportStream = nil
        tracks = nil
    }

    // MARK: Frames

    /// Takes the session's next frame. Throws for configurations it cannot package (the
    /// caller reports it; the stream goes on without that track). `arrival` dates the frames
    /// that come without a writer's timeline.
    mutating func append(_ frame: MediaFrame, arrival: Date) throws {
        guard tracks?.sessionID == frame.sessionID else { return }
        var frame = frame
        if frame.timeline == nil { cutter.stamp(&frame, arrivedAt: arrival) }
        guard let stamp = frame.timeline else { return }
        let cut = Cut(stamp: stamp, startsSegment: frame.startsSegment)
        if frame.isSequenceHeader {
            try reconfigure(with: frame)
            return
        }
        switch frame.kind {
        case .metadata, .end:
            return
        case .video:
            let info = try VideoTagInfo(body: frame.payload)
            guard info.isCodedFrame, let data = frame.payload.getSlice(
                at: frame.payload.readerIndex + info.dataOffset, length: frame.payload.readableBytes - info.dataOffset) else { return }
            let dts = clocks[.video, default: MediaClock()].time(of: frame.dts)
            let pts = dts + MediaClock.compositionOffset(pts: frame.pts, dts: frame.dts)
            takeVideo(HeldFrame(dts: dts, pts: pts, isKeyframe: frame.isKeyframe, data: data), cut: cut)
        case .audio:
            guard let data = frame.payload.getSlice(at: frame.payload.readerIndex + 2, length: frame.payload.readableBytes - 2),
                  data.readableBytes > 0 else { return }
            takeAudio(data, dts: clocks[.audio, default: MediaClock()].time(of: frame.dts), cut: cut)
        }
    }

    private mutating func reconfigure(with frame: MediaFrame) throws {
        guard var updated = tracks else { return }
        try updated.configure(with: frame)
        let kind: TrackKind = frame.kind == .video ? .video : .audio
        guard isStarted else {
            tracks = updated
            return
        }
        // Same configuration again (encoders repeat it): nothing to do. Otherwise the stream
        // is re-initialised: new init segments from the writer's next segment (its epoch).
        guard updated.track(kind) != tracks?.track(kind) else { return }
        finish()
        tracks = updated
    }

    /// Starts the tracks at a segment the writer began (`cut.startsSegment`).
    private mutating func start(at dts: Int64, cut: Cut) {
        guard var tracks else { return }
        tracks.epoch = Int(cut.stamp.epoch)
        self.tracks = tracks
        driver = tracks.video != nil ? .video : .audio
        for kind in TrackKind.allCases {
            guard let track = tracks.track(kind) else { continue }
            lanes[kind] = TrackLane(kind: kind, track: track, mediaSequence: Int(cut.stamp.segment),
                                    writesCMAF: configuration.makesCMAF)
        }
        transportStream = TransportStream(tracks: tracks)
        partStart = dts
        driverTime = dts
        startTime = dts
        partIntake = 0
        openSegment(cut.stamp, at: dts)
    }

    /// Whether a frame the writer marked as a segment start belongs to another epoch than the
    /// tracks (a re-initialisation this node only learns of from the stamp): start afresh there.
    private mutating func restartIfEpochChanged(_ cut: Cut) {
        guard cut.startsSegment, isStarted, let kept = tracks, Int(cut.stamp.epoch) != kept.epoch else { return }
        finish()
        tracks = kept
    }

    private mutating func takeVideo(_ frame: HeldFrame, cut: Cut) {
        restartIfEpochChanged(cut)
        if !isStarted {
            guard tracks?.video != nil, frame.isKeyframe, cut.startsSegment else { return }
            start(at: frame.dts, cut: cut)
        }
        guard lanes[.video] != nil else { return }
        noteDriverTime(frame.dts)
        if videoClock.frames == 0 || videoClock.first > frame.dts { videoClock = (frame.dts, frame.dts, 0) }
        videoClock.last = frame.dts
        videoClock.frames += 1
        if let previous = held {
            let interval = frame.dts - previous.dts
            if interval > 0 { frameInterval = interval }
            appendVideo(previous, duration: max(interval, 0))
            decideBoundary(at: frame.dts, isRandomAccess: frame.isKeyframe, cut: cut)
            closeStalledFollower(at: frame.dts)
        }
        held = frame
        writeTSVideo(frame)
        captions.note(frame.data, of: tracks, segment: lanes[.video]?.mediaSequence, held: segments)
    }

    private mutating func takeAudio(_ data: ByteBuffer, dts: Int64, cut: Cut) {
        if driver == .audio { restartIfEpochChanged(cut) }
        if !isStarted {
            guard tracks?.video == nil, tracks?.audio != nil, cut.startsSegment else { return }
            start(at: dts, cut: cut)
        }
        guard let lane = lanes[.audio], let config = tracks?.aac else { return }
        if driver == .audio {
            noteDriverTime(dts)
            if !lane.isEmpty { decideBoundary(at: dts, isRandomAccess: true, cut: cut) }
        } else {
            guard dts >= startTime else { return }
            if isNewSegment(cut) {
                // The writer cut where the driver did not (a bound forced it): cut every track now.
                forceCut(opening: cut.stamp)
            } else if partIntake >= configuration.maxPartBytes, !lane.isEmpty {
                forceCut(opening: nil)
            }
            while let boundary = followerBoundaries.first, dts >= boundary.time {
                followerBoundaries.removeFirst()
                close(.audio, endsSegment: boundary.startsSegment)
            }
        }
        lanes[.audio]!.add(FMP4Sample(duration: UInt32(AACConfiguration.samplesPerFrame), isSync: true, data: data), dts: dts)
        noteIntake(data.readableBytes)
        noteStart(of: .audio)
        writeTSAudio(data, dts: dts, config: config)
    }

    private mutating func appendVideo(_ frame: HeldFrame, duration: Int64) {
        let sample = FMP4Sample(duration: UInt32(clamping: duration * 90), compositionOffset: Int32(clamping: (frame.pts - frame.dts) * 90),
                                isSync: frame.isKeyframe, data: frame.data)
        lanes[.video]?.add(sample, dts: frame.dts)
        noteIntake(frame.data.readableBytes)
        noteStart(of: .video)
    }

    /// A follower track that stopped (audio that goes silent on the wire) must not hold
    /// segments open: cuts it has not reached a second after the driver passed them are closed
    /// for it with what it has.
    private mutating func closeStalledFollower(at time: Int64) {
        guard let follower = lanes.keys.first(where: { $0 != driver }) else { return }
        while let boundary = followerBoundaries.first, time - boundary.time > Self.followerPatience {
            followerBoundaries.removeFirst()
            close(follower, endsSegment: boundary.startsSegment)
        }
    }

    /// How far (ms) the other track may trail the driver before its parts are closed for it;
    /// well past the interleaving skew of RTMP encoders.
    static let followerPatience: Int64 = 1000

    /// Called by the driver track at each of its frames, before that frame joins a part.
    private mutating func decideBoundary(at time: Int64, isRandomAccess: Bool, cut: Cut) {
        if isNewSegment(cut) {
            guard isRandomAccess else {
                forceCut(opening: cut.stamp)
                return
            }
            close(driver, endsSegment: true)
            if lanes.count > 1 { followerBoundaries.append(Boundary(time: time, startsSegment: true)) }
            beginPart(at: time, opening: cut.stamp)
            return
        }
        if partIntake >= configuration.maxPartBytes {
            forceCut(opening: nil)
            return
        }
        let partTarget = Int64(configuration.partSeconds * 1000)
        // Timestamps are whole milliseconds, so frame intervals jitter by one: a part may end a
        // millisecond late.
        let step = driver == .video ? frameInterval
            : Int64(AACConfiguration.samplesPerFrame * 1000 / max(tracks?.aac?.sampleRate ?? 44100, 1))
        guard time - partStart + step > partTarget + 1 else { return }
        close(driver, endsSegment: false)
        if lanes.count > 1 { followerBoundaries.append(Boundary(time: time, startsSegment: false)) }
        beginPart(at: time, opening: nil)
    }

    /// Whether the writer opened a segment other than the one being filled.
    private func isNewSegment(_ cut: Cut) -> Bool {
        cut.startsSegment && segments.last?.mediaSequence != Int(cut.stamp.segment)
    }

    /// A new part (and with `opening`, the segment it stamps) begins at `time`.
    private mutating func beginPart(at time: Int64, opening stamp: MediaTimeline?) {
        partStart = time
        partIntake = 0
        guard let stamp else { return }
        openSegment(stamp, at: time)
    }

    // MARK: Bounds

    private mutating func noteIntake(_ payloadBytes: Int) {
        partIntake += payloadBytes + PackagingConfiguration.frameOverhead
    }

    private mutating func noteDriverTime(_ time: Int64) {
        driverTime = max(driverTime, time)
    }

    /// Cuts every track now (a part the byte bound closes, or a segment the writer's bounds
    /// opened off a keyframe). Followers close here rather than when their media reaches the
    /// cut's time, which a frozen or runaway follower clock might never do.
    private mutating func forceCut(opening stamp: MediaTimeline?) {
        close(driver, endsSegment: stamp != nil)
        for kind in lanes.keys where kind != driver {
            for boundary in followerBoundaries { close(kind, endsSegment: boundary.startsSegment) }
            close(kind, endsSegment: stamp != nil)
        }
        followerBoundaries = []
        beginPart(at: driverTime, opening: stamp)
    }

    // MARK: Segments

    /// Opens the segment `stamp` names, starting at media time `time` (ms). Numbers that do not
    /// follow on (a failover gap, a new session's clock-derived numbers) start a new window: a
    /// playlist's numbers never skip.
    private mutating func openSegment(_ stamp: MediaTimeline, at time: Int64) {
        guard let tracks else { return }
        let number = Int(stamp.segment)
        if let last = segments.last, last.mediaSequence + 1 != number {
            // Every track goes on in the new window; cuts the follower had yet to reach were in the old one.
            segments.removeAll()
            for kind in lanes.keys { lanes[kind]?.move(toSegment: number) }
            followerBoundaries = []
        }
        let discontinuity = segments.last.map { $0.discontinuitySequence != Int(stamp.discontinuity) } ?? false
        let record = SegmentRecord(mediaSequence: number, tracks: tracks, discontinuity: discontinuity,
                                   discontinuitySequence: Int(stamp.discontinuity),
                                   origin: stamp.origin, periodMediaStart: stamp.periodStart,
                                   periodFirstSegment: Int(stamp.periodFirstSegment), programDate: stamp.origin + time)
        segments.append(record)
        if configuration.hls { transportStream?.writeTables(into: &segments[segments.count - 1].ts) }
        evict()
    }

    private mutating func close(_ kind: TrackKind, endsSegment: Bool) {
        guard var lane = lanes[kind] else { return }
        let sequence = lane.mediaSequence
        // An empty part (a gap in this track) is not listed; part indexes stay contiguous.
        let wasEmpty = lane.isEmpty
        let part = wasEmpty ? nil : lane.closePart(endsSegment: endsSegment)
        if wasEmpty, endsSegment { lane.moveToNextSegment() }
        lanes[kind] = lane
        guard let index = index(of: sequence) else { return }
        if let part { segments[index].add(part, of: kind) }
        if endsSegment { segments[index].finish(kind) }
        progress += 1
        evict()
    }

    private mutating func noteStart(of kind: TrackKind) {
        guard let lane = lanes[kind], let index = index(of: lane.mediaSequence),
              segments[index].startTime[kind] == nil else { return }
        segments[index].startTime[kind] = lane.partStartTime
    }

    private mutating func writeTSVideo(_ frame: HeldFrame) {
        guard configuration.hls, let tracks, let lane = lanes[.video], let index = index(of: lane.mediaSequence) else { return }
        transportStream?.writeVideo(frame, of: tracks, into: &segments[index].ts)
    }

    private mutating func writeTSAudio(_ data: ByteBuffer, dts: Int64, config: AACConfiguration) {
        guard configuration.hls, let lane = lanes[.audio], let index = index(of: lane.mediaSequence) else { return }
        transportStream?.writeAudio(data, dts: dts, config: config, into: &segments[index].ts)
    }

    private mutating func evict() {
        let complete = segments.filter(\.isComplete).count
        let excess = complete - configuration.retainedSegments
        if excess > 0, segments.prefix(excess).allSatisfy(\.isComplete) { segments.removeFirst(excess) }
        // Then by bytes: the oldest finished segments go while the window holds more than leaves
        // room for the part being filled (its samples and their MPEG-TS); the newest finished
        // segment stays, so playlists always have one to list.
        var held = segments.reduce(0) { $0 + $1.heldBytes }
        while held > configuration.maxWindowBytes - 2 * configuration.maxPartBytes, segments.first?.isComplete == true,
              segments.dropFirst().contains(where: \.isComplete) {
            held -= segments.removeFirst().heldBytes
        }
    }
}
