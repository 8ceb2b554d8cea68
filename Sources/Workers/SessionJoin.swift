import Events
import Foundation
import State

/// How a media worker starts on a publish session whose beginning it did not read: after a
/// rebalance gave it the stream (the previous member died or gave the partition up), after a
/// restart, or after frames of the session went missing.
///
/// It passes over frames until an opener: a video keyframe (or, for a stream without video, an
/// audio frame) published no longer than `lookback` before the worker took the stream, and, when
/// `opensAt` is `.segmentStart`, one that opens a segment of the session's timeline. The
/// session's decoder configurations and metadata (from session state, then any passed over)
/// go out first, timed at the opener, so a decoder or a muxer downstream can start there.
///
/// Why a short lookback is safe against doing the work twice: a member that loses a partition
/// stops at the revocation, and one that died is only noticed after the group's session timeout
/// (6 s by default), so the frames published within `lookback` (less than that) before the
/// survivor took the stream were never handled by anyone else. Times are the producer's record
/// timestamps against this node's clock: the nodes of a cluster must keep their clocks in step
/// (NTP) to well under `lookback`.
struct SessionJoin: Sendable {
    enum Opener: Sendable, Hashable {
        /// Any video keyframe (recordings, relays).
        case keyframe
        /// A frame flagged `.segmentStart` (renditions: their segments are the source's, so a
        /// rendition begun mid-segment would run into the segment a predecessor left half made).
        /// Frames no writer stamped open at any keyframe.
        case segmentStart
    }

    /// What to do with one frame.
    enum Step: Equatable {
        /// Passed over (too old, or before the opener).
        case skip
        /// The worker starts here: these frames, headers first, then the opener.
        case open([MediaFrame])
        /// After the opener: every frame goes on as it is.
        case pass
    }

    let opener: Opener
    let sessionID: UInt64
    /// Frames published before this are passed over; nil: no frame is too old.
    let notBefore: Date?
    private var headers: [MediaFrame.Kind: [MediaFrame]] = [:]
    private(set) var isOpen = false
    /// Frames passed over so far.
    private(set) var skipped = 0

    /// - Parameters:
    ///   - headers: the session's configurations and metadata from session state (frames of
    ///     another session are ignored).
    ///   - joinedAt: when this worker took the stream (its first delivery of the stream).
    init(session sessionID: UInt64, headers: [MediaFrame], joinedAt: Date, lookback: Duration?, opener: Opener) {
        self.sessionID = sessionID
        self.opener = opener
        notBefore = lookback.map { joinedAt.addingTimeInterval(-Self.seconds($0)) }
        for header in headers where header.sessionID == sessionID && header.isConfiguration { remember(header) }
    }

    /// Whether the worker can start on this session right away: its first frame is the
    /// session's first (sequence 0) and recent. Otherwise it joins through a `SessionJoin`.
    static func seesStart(of frame: MediaFrame, publishedAt: Date, now: Date, lookback: Duration?) -> Bool {
        guard frame.sequence == 0 else { return false }
        guard let lookback else { return true }
        return publishedAt >= now.addingTimeInterval(-seconds(lookback))
    }

    mutating func step(_ frame: MediaFrame, publishedAt: Date) -> Step {
        if isOpen { return .pass }
        guard frame.sessionID == sessionID, frame.kind != .end else {
            skipped += 1
            return .skip
        }
        if frame.isConfiguration {
            // The newest configuration passed over is the one the opener needs.
            remember(frame)
            return .skip
        }
        guard opens(at: frame, publishedAt: publishedAt) else {
            skipped += 1
            return .skip
        }
        isOpen = true
        var out: [MediaFrame] = []
        for kind in [MediaFrame.Kind.metadata, .video, .audio] {
            for var header in headers[kind] ?? [] {
                header.dts = frame.dts
                header.pts = frame.dts
                header.sequence = frame.sequence
                header.timeline = frame.timeline
                header.flags.remove(.segmentStart)
                out.append(header)
            }
        }
        out.append(frame)
        return .open(out)
    }

    private var hasVideo: Bool { headers[.video] != nil }

    private func opens(at frame: MediaFrame, publishedAt: Date) -> Bool {
        if let notBefore, publishedAt < notBefore { return false }
        if hasVideo || frame.kind == .video {
            guard frame.kind == .video, frame.isKeyframe else { return false }
        } else if frame.kind != .audio {
            return false
        }
        guard opener == .segmentStart, frame.timeline != nil else { return true }
        return frame.startsSegment
    }

    /// One configuration per kind and, for sequence headers, per codec kind (video, audio).
    private mutating func remember(_ frame: MediaFrame) {
        headers[frame.kind] = [frame]
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// What a worker in a consumer group needs to start on a session already under way: the
/// session's headers from session state (`SessionStore.playbackStart`, recorded by ingest) and
/// how far back it may begin. Workers without one (one machine) start every session at its start.
public struct SessionJoining: Sendable {
    /// The configurations and metadata of a stream's session; empty when unknown.
    public var headers: @Sendable (StreamID, _ session: UInt64) async -> [MediaFrame]
    /// How old the first frame may be: nil for any age (recordings want everything the log has).
    public var lookback: Duration?

    public init(lookback: Duration?, headers: @escaping @Sendable (StreamID, UInt64) async -> [MediaFrame]) {
        self.lookback = lookback
        self.headers = headers
    }

    /// Headers from session state. Live work (renditions, relays) starts at most `lookback` back:
    /// "a few seconds", less than a group's session timeout (6 s by default).
    public init(sessions: any SessionStore, lookback: Duration? = .seconds(3)) {
        self.init(lookback: lookback) { stream, session in
            guard let start = try? await sessions.playbackStart(of: stream), start.sessionID == session else { return [] }
            return start.headers
        }
    }

    /// A join of `frame`'s session, or nil when the worker can start with this frame as it is
    /// (the session's first frame, recent enough).
    func join(_ frame: MediaFrame, of stream: StreamID, publishedAt: Date, opener: SessionJoin.Opener) async -> SessionJoin? {
        let now = Date()
        if SessionJoin.seesStart(of: frame, publishedAt: publishedAt, now: now, lookback: lookback) { return nil }
        return SessionJoin(session: frame.sessionID, headers: await headers(stream, frame.sessionID), joinedAt: now,
                           lookback: lookback, opener: opener)
    }
}
