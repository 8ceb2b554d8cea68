import Foundation

/// A dynamic MPEG-DASH MPD (ISO/IEC 23009-1) for live CMAF: periods of adaptation sets whose
/// representations use a `SegmentTemplate` with `$Number$` and a `SegmentTimeline`.
public struct DASHManifest: Sendable, Hashable {
    /// One `S` element: a run of `repeat + 1` segments of `duration` from `time` (§5.3.9.6).
    public struct TimelineEntry: Sendable, Hashable {
        public var time: UInt64
        public var duration: UInt64
        public var repeatCount: Int

        public init(time: UInt64, duration: UInt64, repeatCount: Int = 0) {
            self.time = time
            self.duration = duration
            self.repeatCount = repeatCount
        }

        /// The `count` segments of a period that left the window before `end`, as one run from the
        /// period's start: their number is exact, so `$Number$` of every later segment stays
        /// right with `startNumber` at the period's first segment, and their duration is the
        /// average (exact when the segments are of one length, as a fixed GOP gives). They are
        /// outside `timeShiftBufferDepth`, so no player fetches them; the run is there because a
        /// timeline that starts at its period's start is what GStreamer's dashdemux2 (1.22)
        /// needs: it adds the first listed segment's start to every live position it seeks to.
        /// Nil when there is nothing to describe or less than a tick per segment.
        public init?(expiredSegments count: Int, from start: UInt64, to end: UInt64) {
            guard count > 0, end > start, (end - start) / UInt64(count) > 0 else { return nil }
            self.init(time: start, duration: (end - start) / UInt64(count), repeatCount: count - 1)
        }

        /// The time just past the run's last segment (`UInt64.max` if that does not fit: times
        /// come from publishers and stored rows, so no sum of them may trap).
        public var end: UInt64 {
            let (length, over) = duration.multipliedReportingOverflow(by: UInt64(max(0, repeatCount) + 1))
            let (sum, past) = time.addingReportingOverflow(length)
            return over || past ? .max : sum
        }
    }

    /// Adds a segment to a timeline: one more repeat of the last `S` when it has the same
    /// duration and follows it without a gap, a new `S` otherwise.
    public static func append(time: UInt64, duration: UInt64, to timeline: inout [TimelineEntry]) {
        if let last = timeline.last, last.duration == duration, last.end == time {
            timeline[timeline.count - 1].repeatCount += 1
        } else {
            timeline.append(.init(time: time, duration: duration))
        }
    }

    public struct Representation: Sendable, Hashable {
        public var id: String
        public var contentType: String
        public var mimeType: String
        public var codecs: String
        /// Bits per second.
        public var bandwidth: Int
        public var size: PictureSize?
        public var sampleRate: Int?
        public var timescale: UInt32
        /// Template URLs relative to the MPD, e.g. `cmaf/…/video-$Number$.m4s`.
        public var initialization: String
        public var media: String
        public var startNumber: Int
        public var presentationTimeOffset: UInt64
        public var timeline: [TimelineEntry]
        /// Caption channels in the video's own bytes (CEA-608/708 in SEI), described by
        /// `Accessibility` descriptors on the adaptation set.
        public var captions = CaptionChannels()
        /// `columns`x`rows` of a thumbnail track's sprites (`contentType` `image`; see `DASHManifest+Thumbnails`).
        public var thumbnailTiles: String?

        public init(id: String, contentType: String, mimeType: String, codecs: String, bandwidth: Int,
                    size: PictureSize? = nil, sampleRate: Int? = nil, timescale: UInt32, initialization: String,
                    media: String, startNumber: Int, presentationTimeOffset: UInt64, timeline: [TimelineEntry]) {
            self.id = id
            self.contentType = contentType
            self.mimeType = mimeType
            self.codecs = codecs
            self.bandwidth = bandwidth
            self.size = size
            self.sampleRate = sampleRate
            self.timescale = timescale
            self.initialization = initialization
            self.media = media
            self.startNumber = startNumber
            self.presentationTimeOffset = presentationTimeOffset
            self.timeline = timeline
        }
    }

    public struct Period: Sendable, Hashable {
        public var id: String
        /// Seconds from `availabilityStartTime`.
        public var start: Double
        /// One adaptation set per representation (one track per file).
        public var representations: [Representation]

        public init(id: String, start: Double, representations: [Representation]) {
            self.id = id
            self.start = start
            self.representations = representations
        }
    }

    public var availabilityStartTime: Date
    public var publishTime: Date
    /// Seconds.
    public var minimumUpdatePeriod: Double
    public var timeShiftBufferDepth: Double
    public var minBufferTime: Double
    public var suggestedPresentationDelay: Double
    public var periods: [Period]

    public init(availabilityStartTime: Date, publishTime: Date, minimumUpdatePeriod: Double, timeShiftBufferDepth: Double,
                minBufferTime: Double, suggestedPresentationDelay: Double, periods: [Period]) {
        self.availabilityStartTime = availabilityStartTime
        self.publishTime = publishTime
        self.minimumUpdatePeriod = minimumUpdatePeriod
        self.timeShiftBufferDepth = timeShiftBufferDepth
        self.minBufferTime = minBufferTime
        self.suggestedPresentationDelay = suggestedPresentationDelay
        self.periods = periods
    }

    public func render() -> String {
        var lines = [
            #"<?xml version="1.0" encoding="UTF-8"?>"#,
            #"<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019" type="dynamic""#
                + " availabilityStartTime=\"\(Self.date(availabilityStartTime))\" publishTime=\"\(Self.date(publishTime))\""
                + " minimumUpdatePeriod=\"\(Self.duration(minimumUpdatePeriod))\""
                + " timeShiftBufferDepth=\"\(Self.duration(timeShiftBufferDepth))\""
                + " minBufferTime=\"\(Self.duration(minBufferTime))\""
                + " suggestedPresentationDelay=\"\(Self.duration(suggestedPresentationDelay))\">",
        ]
        for period in periods {
            lines.append("  <Period id=\"\(period.id)\" start=\"\(Self.duration(period.start))\">")
            // Neighbouring representations of one content type (a ladder's video) share an adaptation set.
            var sets: [[Representation]] = []
            for representation in period.representations {
                if sets.last?.first?.contentType == representation.contentType {
                    sets[sets.count - 1].append(representation)
                } else {
                    sets.append([representation])
                }
            }
            for set in sets { lines += Self.render(set) }
            lines.append("  </Period>")
        }
        lines.append(#"  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:direct:2014" value="\#(Self.date(publishTime))"/>"#)
        lines.append("</MPD>")
        return lines.joined(separator: "\n") + "\n"
    }

    private static func render(_ set: [Representation]) -> [String] {
        guard let first = set.first else { return [] }
        if first.thumbnailTiles != nil { return renderThumbnails(set) }
        var lines = ["    <AdaptationSet contentType=\"\(first.contentType)\" mimeType=\"\(first.mimeType)\""
            + " segmentAlignment=\"true\" startWithSAP=\"1\">"]
        lines += accessibility(set.reduce(CaptionChannels()) { $0.union($1.captions) })
        for representation in set {
            var attributes = "id=\"\(representation.id)\" bandwidth=\"\(representation.bandwidth)\" codecs=\"\(representation.codecs)\""
            if let size = representation.size { attributes += " width=\"\(size.width)\" height=\"\(size.height)\"" }
            if let rate = representation.sampleRate { attributes += " audioSamplingRate=\"\(rate)\"" }
            lines += [
                "      <Representation \(attributes)>",
                "        <SegmentTemplate timescale=\"\(representation.timescale)\""
                    + " presentationTimeOffset=\"\(representation.presentationTimeOffset)\""
                    + " initialization=\"\(representation.initialization)\" media=\"\(representation.media)\""
                    + " startNumber=\"\(representation.startNumber)\">",
            ]
            lines += segmentTimeline(of: representation) + ["        </SegmentTemplate>", "      </Representation>"]
        }
        lines.append("    </AdaptationSet>")
        return lines
    }

    /// A representation's `SegmentTimeline`, one `S` per run.
    static func segmentTimeline(of representation: Representation) -> [String] {
        var lines = ["          <SegmentTimeline>"]
        for entry in representation.timeline {
            let repeats = entry.repeatCount > 0 ? " r=\"\(entry.repeatCount)\"" : ""
            lines.append("            <S t=\"\(entry.time)\" d=\"\(entry.duration)\"\(repeats)/>")
        }
        lines.append("          </SegmentTimeline>")
        return lines
    }

    /// SCTE 214-1 §6.7.2 descriptors: `CC1=und;CC3=und` and `1=lang:und`, the language left
    /// undetermined (ISO 639-2 `und`): the caption data does not carry one.
    private static func accessibility(_ captions: CaptionChannels) -> [String] {
        var lines: [String] = []
        if !captions.channels608.isEmpty {
            let value = captions.channels608.map { "CC\($0)=und" }.joined(separator: ";")
            lines.append(#"      <Accessibility schemeIdUri="urn:scte:dash:cc:cea-608:2015" value="\#(value)"/>"#)
        }
        if !captions.services708.isEmpty {
            let value = captions.services708.map { "\($0)=lang:und" }.joined(separator: ";")
            lines.append(#"      <Accessibility schemeIdUri="urn:scte:dash:cc:cea-708:2015" value="\#(value)"/>"#)
        }
        return lines
    }

    /// `xs:dateTime` in UTC with milliseconds.
    static func date(_ date: Date) -> String {
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded()
        return UTCDate.string(unixMilliseconds: milliseconds.isFinite ? Int64(min(max(milliseconds, 0), 0x1p62)) : 0)
    }

    /// `xs:duration` in seconds (`PT2.5S`).
    static func duration(_ seconds: Double) -> String { "PT\(PlaylistNumber.short(seconds))S" }
}
