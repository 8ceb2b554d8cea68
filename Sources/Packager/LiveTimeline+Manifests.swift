import Foundation
import Media

/// The multivariant playlist and the DASH manifest: the timeline's tracks as a whole.
extension LiveTimeline {
    /// The LL-HLS multivariant playlist: the video playlist as the variant, the audio playlist
    /// as its audio rendition (or the audio playlist alone for audio-only streams).
    func multivariantPlaylist() -> MultivariantPlaylist? {
        guard let tracks = currentTracks?.video != nil || currentTracks?.audio != nil ? currentTracks : segments.last?.tracks
        else { return nil }
        let audioBandwidth = estimatedBandwidth(.audio, fallback: 128_000)
        var playlist = MultivariantPlaylist(version: 9, variants: [])
        if tracks.audio != nil, tracks.video != nil {
            playlist.audio = [.init(uri: PackagedResource.llhlsMedia(.audio).relativePath, groupID: "audio", name: "Audio",
                                    channels: tracks.aac?.channels)]
        }
        if let video = tracks.video {
            playlist.variants = [.init(uri: PackagedResource.llhlsMedia(.video).relativePath,
                                       bandwidth: estimatedBandwidth(.video, fallback: 2_000_000) + (tracks.audio != nil ? audioBandwidth : 0),
                                       codecs: [video.codecString] + (tracks.audio.map { [$0.codecString] } ?? []),
                                       resolution: video.size, audioGroup: tracks.audio != nil ? "audio" : nil)]
        } else if let audio = tracks.audio {
            playlist.variants = [.init(uri: PackagedResource.llhlsMedia(.audio).relativePath, bandwidth: audioBandwidth,
                                       codecs: [audio.codecString])]
        }
        playlist.describe(captions: captionChannels)
        playlist.trickPlay = trickPlayStreams()
        return playlist
    }

    /// The caption channels in the video of the segments held.
    var captionChannels: CaptionChannels { captions.channels(in: segments) }

    /// A dynamic MPD over the CMAF window of the current session: one period per
    /// re-initialisation, one adaptation set per track. Timing follows the DASH-IF live
    /// guidelines from the writer's stamps alone, so every node writes the same MPD for the same
    /// window: `availabilityStartTime` is the session's origin (the wall-clock time of its media
    /// time 0); a period starts at its first segment's media time, which is also its
    /// `presentationTimeOffset`, so a segment's `S@t` maps to the time it was captured; and
    /// `publishTime` (also the `UTCTiming` value) is when the newest listed segment ended. Each
    /// timeline starts at its period's start (the segments that left the window as one run), so
    /// `startNumber` is 0. A republish starts a new presentation (a new origin), as a new session is.
    func dashManifest() -> DASHManifest? {
        guard let newest = segments.last(where: \.isComplete) else { return nil }
        let window = segments.filter { $0.isComplete && $0.origin == newest.origin }.suffix(configuration.cmafWindow)
        var periods: [DASHManifest.Period] = []
        for segment in window where periods.last?.id != segment.tracks.name {
            let members = window.filter { $0.tracks.name == segment.tracks.name }
            let representations = segment.kinds.compactMap { representation($0, of: Array(members)) }
                + [thumbnailRepresentation(of: Array(members))].compactMap { $0 }
            periods.append(.init(id: segment.tracks.name, start: Double(max(0, segment.periodMediaStart)) / 1000,
                                 representations: representations))
        }
        let depth = window.reduce(0) { $0 + $1.duration }
        let published = newest.programDate + Int64((newest.duration * 1000).rounded())
        return DASHManifest(availabilityStartTime: Date(timeIntervalSince1970: Double(newest.origin) / 1000),
                            publishTime: Date(timeIntervalSince1970: Double(published) / 1000),
                            minimumUpdatePeriod: configuration.segmentSeconds, timeShiftBufferDepth: depth,
                            minBufferTime: configuration.segmentSeconds,
                            suggestedPresentationDelay: 2 * configuration.segmentSeconds, periods: periods)
    }

    /// One track of a period: its window of segments after a run standing for the period's
    /// segments that left the window (see `TimelineEntry(expiredSegments:from:to:)`), so the
    /// timeline starts at the period's start and `startNumber` is the period's first segment, 0.
    private func representation(_ kind: TrackKind, of segments: [SegmentRecord]) -> DASHManifest.Representation? {
        guard let first = segments.first, let track = first.tracks.track(kind) else { return nil }
        let periodStart = UInt64(milliseconds: first.periodMediaStart, timescale: track.timescale)
        let expired = max(0, first.mediaSequence - first.periodFirstSegment)
        var timeline: [DASHManifest.TimelineEntry] = []
        if let windowStart = first.startTime[kind],
           let run = DASHManifest.TimelineEntry(expiredSegments: expired, from: periodStart, to: windowStart) {
            timeline.append(run)
        }
        let startNumber = timeline.isEmpty ? expired : 0
        for segment in segments {
            guard let time = segment.startTime[kind] else { continue }
            DASHManifest.append(time: time, duration: segment.ticks(kind), to: &timeline)
        }
        let session = first.tracks.name
        let template = "cmaf/\(session)/$RepresentationID$-"
        var described = DASHManifest.Representation(
            id: kind.rawValue, contentType: kind.rawValue, mimeType: kind == .video ? "video/mp4" : "audio/mp4",
            codecs: track.codecString, bandwidth: estimatedBandwidth(kind, fallback: kind == .video ? 2_000_000 : 128_000),
            size: track.size, sampleRate: kind == .audio ? Int(track.timescale) : nil, timescale: track.timescale,
            initialization: template + "init.mp4", media: template + "d$Number$.m4s", startNumber: startNumber,
            presentationTimeOffset: periodStart, timeline: timeline)
        if kind == .video { described.captions = captions.channels(in: segments) }
        return described
    }

    /// Peak bits per second of `kind` over the finished segments kept, or `fallback` before any.
    func estimatedBandwidth(_ kind: TrackKind, fallback: Int) -> Int {
        let rates = segments.filter { $0.isFinished(kind) }.compactMap { segment -> Double? in
            let seconds = segment.duration(kind)
            let bytes = segment.parts[kind, default: []].reduce(0) { $0 + $1.bytes.readableBytes }
            return seconds > 0 && bytes > 0 ? Double(bytes * 8) / seconds : nil
        }
        return rates.max().map { Int($0.rounded(.up)) } ?? fallback
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
