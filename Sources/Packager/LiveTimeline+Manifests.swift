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
        return playlist
    }

    /// A dynamic MPD over the CMAF window: one period per session, one adaptation set per track.
    func dashManifest(now: Date) -> DASHManifest? {
        guard let availabilityStart else { return nil }
        let window = segments.filter(\.isComplete).suffix(configuration.cmafWindow)
        guard !window.isEmpty else { return nil }
        var periods: [DASHManifest.Period] = []
        for segment in window where periods.last?.id != segment.tracks.name {
            let members = window.filter { $0.tracks.name == segment.tracks.name }
            let start = segment.sessionAnchor.arrival.timeIntervalSince(availabilityStart)
            let representations = segment.kinds.compactMap { representation($0, of: Array(members)) }
            periods.append(.init(id: segment.tracks.name, start: max(0, start), representations: representations))
        }
        let depth = window.reduce(0) { $0 + $1.duration }
        return DASHManifest(availabilityStartTime: availabilityStart, publishTime: now,
                            minimumUpdatePeriod: configuration.segmentSeconds, timeShiftBufferDepth: depth,
                            minBufferTime: configuration.segmentSeconds,
                            suggestedPresentationDelay: 2 * configuration.segmentSeconds, periods: periods)
    }

    private func representation(_ kind: TrackKind, of segments: [SegmentRecord]) -> DASHManifest.Representation? {
        guard let first = segments.first, let track = first.tracks.track(kind) else { return nil }
        var timeline: [DASHManifest.TimelineEntry] = []
        for segment in segments {
            guard let time = segment.startTime[kind] else { continue }
            let duration = segment.ticks(kind)
            if var last = timeline.last, last.duration == duration,
               last.time + last.duration * UInt64(last.repeatCount + 1) == time {
                last.repeatCount += 1
                timeline[timeline.count - 1] = last
            } else {
                timeline.append(.init(time: time, duration: duration))
            }
        }
        let session = first.tracks.name
        let template = "cmaf/\(session)/$RepresentationID$-"
        return .init(id: kind.rawValue, contentType: kind.rawValue, mimeType: kind == .video ? "video/mp4" : "audio/mp4",
                     codecs: track.codecString, bandwidth: estimatedBandwidth(kind, fallback: kind == .video ? 2_000_000 : 128_000),
                     size: track.size, sampleRate: kind == .audio ? Int(track.timescale) : nil, timescale: track.timescale,
                     initialization: template + "init.mp4", media: template + "$Number$.m4s",
                     startNumber: first.mediaSequence,
                     presentationTimeOffset: UInt64(milliseconds: first.sessionAnchor.dts, timescale: track.timescale),
                     timeline: timeline)
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
