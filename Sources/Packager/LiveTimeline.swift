import Events
import Foundation
import Media
import NIOCore

/// The packaging state machine of one stream: frames in, segments and parts out, for classic
/// HLS (MPEG-TS), LL-HLS and DASH (CMAF) at once, from one set of cut decisions.
///
/// Cuts follow the media alone, so any node packaging the same session produces the same names
/// and bytes: segments start at the first keyframe past the segment target (first audio frame
/// for audio-only streams), parts end before they would pass the part target. The video
/// (or, without video, the audio) track decides the boundaries; the other track closes its
/// parts at the same media times as its frames pass them.
struct LiveTimeline: Sendable {
    /// A decided cut: media time (ms) and whether a new segment starts there.
    private struct Boundary: Sendable {
        var time: Int64
        var startsSegment: Bool
    }

    /// A video frame waiting for the next one, which gives its duration.
    private struct HeldFrame: Sendable {
        var dts: Int64
        var pts: Int64
        var isKeyframe: Bool
        var data: ByteBuffer
    }

    let configuration: PackagingConfiguration
    private(set) var segments: [SegmentRecord] = []
    /// Highest rounded segment duration so far, never below the configured target.
    private(set) var targetDuration: Int
    /// Counts closed parts and finished track segments: what playlists list changes only when
    /// it moves, so callers compare it instead of the segments.
    private(set) var progress = 0
    private var tracks: TrackSet?
    /// When the first session's first frame arrived: DASH's `availabilityStartTime`.
    private(set) var availabilityStart: Date?
    private var anchor: SessionAnchor?
    private var lanes: [TrackKind: TrackLane] = [:]
    private var driver: TrackKind = .video
    private var followerBoundaries: [Boundary] = []
    private var held: HeldFrame?
    private var partStart: Int64 = 0
    private var segmentStart: Int64 = 0
    private(set) var frameInterval: Int64 = 0
    /// First and last video dts of the session and the frames between, for the frame rate.
    private var videoClock: (first: Int64, last: Int64, frames: Int) = (0, 0, 0)
    private var muxer: MPEGTSMuxer?
    private var nextMediaSequence = 0
    private var discontinuities = 0
    private var nextIsDiscontinuity = false
    /// Each track's media time, from its publisher's untrusted timestamps.
    private var clocks: [TrackKind: MediaClock] = [:]
    /// Bytes taken in since the last part cut and segment cut (all tracks, each frame's payload
    /// plus `PackagingConfiguration.frameOverhead`), and driver frames in a row at which its
    /// media time stood still: what forces cuts when media time does not.
    private var intake = (part: 0, segment: 0, stalledFrames: 0)
    /// The driver's latest media time, ms.
    private var driverTime: Int64 = 0

    init(configuration: PackagingConfiguration) {
        self.configuration = configuration
        targetDuration = Int(configuration.segmentSeconds.rounded(.up))
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
        anchor = nil
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
        // A segment opened by the last cut but given no media is taken back, number included.
        if let last = segments.last, last.parts.isEmpty {
            segments.removeLast()
            nextMediaSequence -= 1
            if last.discontinuity { discontinuities -= 1 }
        }
        for index in segments.indices {
            for kind in segments[index].kinds { segments[index].finish(kind) }
        }
        progress += 1
        if !segments.isEmpty { nextIsDiscontinuity = true }
        lanes = [:]
        followerBoundaries = []
        held = nil
        muxer = nil
        tracks = nil
    }

    // MARK: Frames

    /// Takes the session's next frame. Throws for configurations it cannot package (the
    /// caller reports it; the stream goes on without that track).
    mutating func append(_ frame: MediaFrame, arrival: Date) throws {
        guard tracks?.sessionID == frame.sessionID else { return }
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
            takeVideo(HeldFrame(dts: dts, pts: pts, isKeyframe: frame.isKeyframe, data: data), arrival: arrival)
        case .audio:
            guard let data = frame.payload.getSlice(at: frame.payload.readerIndex + 2, length: frame.payload.readableBytes - 2),
                  data.readableBytes > 0 else { return }
            takeAudio(data, dts: clocks[.audio, default: MediaClock()].time(of: frame.dts), arrival: arrival)
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
        // is re-initialised: new init segments, after a discontinuity.
        guard updated.track(kind) != tracks?.track(kind) else { return }
        finish()
        updated.epoch += 1
        tracks = updated
        // The new timeline is anchored at its own first frame (a new DASH period).
        anchor = nil
    }

    private mutating func start(at dts: Int64, arrival: Date) {
        guard let tracks else { return }
        driver = tracks.video != nil ? .video : .audio
        for kind in TrackKind.allCases {
            guard let track = tracks.track(kind) else { continue }
            lanes[kind] = TrackLane(kind: kind, track: track, mediaSequence: nextMediaSequence,
                                    writesCMAF: configuration.makesCMAF)
        }
        anchor = anchor ?? SessionAnchor(arrival: arrival, dts: dts)
        availabilityStart = availabilityStart ?? arrival
        muxer = MPEGTSMuxer(video: tracks.tsVideoStream, hasAudio: tracks.audio != nil)
        partStart = dts
        segmentStart = dts
        driverTime = dts
        intake = (0, 0, 0)
        openSegment()
    }

    private mutating func takeVideo(_ frame: HeldFrame, arrival: Date) {
        if !isStarted {
            guard tracks?.video != nil, frame.isKeyframe else { return }
            start(at: frame.dts, arrival: arrival)
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
            decideBoundary(at: frame.dts, isRandomAccess: frame.isKeyframe)
            closeStalledFollower(at: frame.dts)
        }
        held = frame
        writeTSVideo(frame)
    }

    private mutating func takeAudio(_ data: ByteBuffer, dts: Int64, arrival: Date) {
        if !isStarted {
            guard tracks?.video == nil, tracks?.audio != nil else { return }
            start(at: dts, arrival: arrival)
        }
        guard let lane = lanes[.audio], let config = tracks?.aac else { return }
        if driver == .audio {
            noteDriverTime(dts)
            if !lane.isEmpty { decideBoundary(at: dts, isRandomAccess: true) }
        } else {
            if let startsSegment = dueForcedCut(), !lane.isEmpty { forceCut(startsSegment: startsSegment) }
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
    private mutating func decideBoundary(at time: Int64, isRandomAccess: Bool) {
        if let startsSegment = dueForcedCut() {
            forceCut(startsSegment: startsSegment)
            return
        }
        let segmentTarget = Int64(configuration.segmentSeconds * 1000)
        let partTarget = Int64(configuration.partSeconds * 1000)
        // Timestamps are whole milliseconds, so frame intervals jitter by one: a keyframe due
        // at the target may arrive a millisecond early, and a part may end a millisecond late.
        let step = driver == .video ? frameInterval
            : Int64(AACConfiguration.samplesPerFrame * 1000 / max(tracks?.aac?.sampleRate ?? 44100, 1))
        let startsSegment = isRandomAccess && time - segmentStart >= segmentTarget - step / 2
        guard startsSegment || time - partStart + step > partTarget + 1 else { return }
        close(driver, endsSegment: startsSegment)
        if lanes.count > 1 { followerBoundaries.append(Boundary(time: time, startsSegment: startsSegment)) }
        beginPart(at: time, startsSegment: startsSegment)
    }

    /// A new part (and with `startsSegment` a new segment) begins at `time`.
    private mutating func beginPart(at time: Int64, startsSegment: Bool) {
        partStart = time
        intake.part = 0
        guard startsSegment else { return }
        segmentStart = time
        intake.segment = 0
        intake.stalledFrames = 0
        openSegment()
    }

    // MARK: Bounds

    private mutating func noteIntake(_ payloadBytes: Int) {
        let cost = payloadBytes + PackagingConfiguration.frameOverhead
        intake.part += cost
        intake.segment += cost
    }

    /// Counts driver frames whose media time did not move past the newest one.
    private mutating func noteDriverTime(_ time: Int64) {
        if time > driverTime {
            driverTime = time
            intake.stalledFrames = 0
        } else {
            intake.stalledFrames += 1
        }
    }

    /// A cut the bounds force whatever the media time says (frozen, backwards or flooding
    /// timestamps): nil when none is due, else whether it starts a segment.
    private func dueForcedCut() -> Bool? {
        if intake.segment >= configuration.maxSegmentBytes || intake.stalledFrames >= configuration.maxStalledFrames { return true }
        return intake.part >= configuration.maxPartBytes ? false : nil
    }

    /// Cuts every track now. Followers close here rather than when their media reaches the
    /// cut's time, which a frozen or runaway follower clock might never do.
    private mutating func forceCut(startsSegment: Bool) {
        close(driver, endsSegment: startsSegment)
        for kind in lanes.keys where kind != driver {
            for boundary in followerBoundaries { close(kind, endsSegment: boundary.startsSegment) }
            close(kind, endsSegment: startsSegment)
        }
        followerBoundaries = []
        beginPart(at: driverTime, startsSegment: startsSegment)
    }

    // MARK: Segments

    private mutating func openSegment() {
        guard let tracks, let anchor else { return }
        let record = SegmentRecord(mediaSequence: nextMediaSequence, tracks: tracks, discontinuity: nextIsDiscontinuity,
                                   discontinuitiesBefore: discontinuities, sessionAnchor: anchor)
        if nextIsDiscontinuity { discontinuities += 1 }
        nextIsDiscontinuity = false
        nextMediaSequence += 1
        segments.append(record)
        if configuration.hls, var muxer {
            muxer.writeTables(into: &segments[segments.count - 1].ts)
            self.muxer = muxer
        }
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
        if endsSegment, kind == driver {
            targetDuration = max(targetDuration, Int(segments[index].duration.rounded()))
        }
        evict()
    }

    private mutating func noteStart(of kind: TrackKind) {
        guard let lane = lanes[kind], let index = index(of: lane.mediaSequence),
              segments[index].startTime[kind] == nil else { return }
        segments[index].startTime[kind] = lane.partStartTime
    }

    private mutating func writeTSVideo(_ frame: HeldFrame) {
        guard configuration.hls, var muxer, let tracks, let lane = lanes[.video], let index = index(of: lane.mediaSequence) else { return }
        let (codec, lengthSize, sets): (AnnexB.Codec, Int, [[UInt8]]) = switch tracks.video?.codec {
        case .avc(let config): (.h264, config.nalLengthSize, config.sequenceParameterSets + config.pictureParameterSets)
        case .hevc(let config): (.hevc, config.nalLengthSize, config.parameterSets)
        default: (.h264, 4, [])
        }
        guard let unit = try? AnnexB.accessUnit(frame.data, lengthSize: lengthSize, codec: codec,
                                                parameterSets: frame.isKeyframe ? sets : []) else { return }
        muxer.writeVideo(unit, pts: frame.pts * 90, dts: frame.dts * 90, isKeyframe: frame.isKeyframe,
                         into: &segments[index].ts)
        self.muxer = muxer
    }

    private mutating func writeTSAudio(_ data: ByteBuffer, dts: Int64, config: AACConfiguration) {
        guard configuration.hls, var muxer, let lane = lanes[.audio], let index = index(of: lane.mediaSequence) else { return }
        var frame = ByteBuffer(bytes: config.adtsHeader(payloadLength: data.readableBytes))
        frame.writeImmutableBuffer(data)
        muxer.writeAudio(frame, pts: dts * 90, into: &segments[index].ts)
        self.muxer = muxer
    }

    private func index(of mediaSequence: Int) -> Int? {
        // Numbers count up from 0, so once `mediaSequence` is at least the first the difference
        // cannot overflow, whatever a request asked for.
        guard let first = segments.first?.mediaSequence, mediaSequence >= first else { return nil }
        let index = mediaSequence - first
        return segments.indices.contains(index) ? index : nil
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

    // MARK: Reading

    /// The segment numbered `mediaSequence`, if still kept.
    func segment(_ mediaSequence: Int) -> SegmentRecord? { index(of: mediaSequence).map { segments[$0] } }

    /// Bytes the timeline keeps: every kept segment's, the samples of the open parts and the
    /// video frame waiting for its successor.
    var heldBytes: Int {
        segments.reduce(0) { $0 + $1.heldBytes } + lanes.values.reduce(0) { $0 + $1.pendingBytes }
            + (held?.data.readableBytes ?? 0)
    }

    /// Where `kind` is now: the segment it is filling and how many of its parts are done.
    func position(of kind: TrackKind) -> (mediaSequence: Int, completedParts: Int)? {
        guard let lane = lanes[kind] else { return nil }
        return (lane.mediaSequence, lane.partIndex)
    }
}

extension LiveTimeline {
    /// What a master playlist says of this variant; nil until two video frames have measured the
    /// frame rate, so a variant is never listed without an attribute it gains a moment later
    /// (a slow transcoder's first picture can come alone).
    var variantFacts: VariantFacts? {
        guard let tracks = currentTracks, let video = tracks.video, let frameRate else { return nil }
        let codecs = [video.codecString] + (tracks.audio.map { [$0.codecString] } ?? [])
        let rates = segments.filter(\.isComplete).compactMap { segment -> Int? in
            let seconds = segment.duration(.video)
            let bytes = segment.ts.readableBytes > 0 ? segment.ts.readableBytes
                : segment.kinds.reduce(0) { $0 + segment.parts[$1, default: []].reduce(0) { $0 + $1.bytes.readableBytes } }
            return seconds > 0.5 ? Int(Double(bytes * 8) / seconds) : nil
        }
        return VariantFacts(codecs: codecs, size: video.size, frameRate: frameRate, peakBitRate: rates.max())
    }

    /// Video frames per second over the session, snapped to a standard rate within 0.5 %
    /// (millisecond timestamps make 30 fps look like 30.3 between two frames).
    var frameRate: Double? {
        guard videoClock.frames > 1, videoClock.last > videoClock.first else { return nil }
        let measured = Double(videoClock.frames - 1) * 1000 / Double(videoClock.last - videoClock.first)
        let standard = [23.976, 24, 25, 29.97, 30, 48, 50, 59.94, 60].min { abs($0 - measured) < abs($1 - measured) }!
        return abs(standard - measured) / standard < 0.005 ? standard : (measured * 1000).rounded() / 1000
    }
}
