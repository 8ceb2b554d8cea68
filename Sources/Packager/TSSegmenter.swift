import Events
import Foundation
import NIOCore

/// Cuts one stream into whole MPEG-TS segments for recording (VOD HLS): the live packager's
/// timeline with only its TS output, handing out each segment once, when it is complete.
public struct TSSegmenter: Sendable {
    public struct Segment: Sendable, Hashable {
        /// Counts from 0 within the recording.
        public var sequence: Int
        /// Seconds.
        public var duration: Double
        public var bytes: ByteBuffer
        /// The first segment after a codec or size change.
        public var discontinuity: Bool
    }

    private var timeline: LiveTimeline
    private var handedOut = -1

    /// - Parameter segmentSeconds: segments are cut at the first keyframe past this.
    public init(segmentSeconds: Double) {
        timeline = LiveTimeline(configuration: PackagingConfiguration(segmentSeconds: segmentSeconds, listSize: 2, hls: true,
                                                                      llhls: false, dash: false))
    }

    /// Takes the session's frames in order; returns the segments they completed. A recording
    /// cuts at its own segment duration, counted from its own first segment: the live stamps
    /// (`MediaFrame.timeline`) are for the live outputs and left out here.
    public mutating func append(_ frame: MediaFrame, arrival: Date = Date()) throws -> [Segment] {
        if timeline.currentTracks?.sessionID != frame.sessionID { timeline.begin(sessionID: frame.sessionID) }
        var unstamped = frame
        unstamped.timeline = nil
        unstamped.flags.remove(.segmentStart)
        try timeline.append(unstamped, arrival: arrival)
        return completed()
    }

    /// Closes the last segment with what it has and returns it.
    public mutating func finish() -> [Segment] {
        timeline.finish()
        return completed()
    }

    private mutating func completed() -> [Segment] {
        let ready = timeline.segments.filter { $0.isComplete && $0.mediaSequence > handedOut && $0.ts.readableBytes > 0 }
        handedOut = ready.last?.mediaSequence ?? handedOut
        return ready.map {
            Segment(sequence: $0.mediaSequence, duration: $0.duration, bytes: $0.ts, discontinuity: $0.discontinuity)
        }
    }
}
