import Foundation
import Media
import NIOCore

/// Trick play over the classic HLS window: the I-frame playlist and what a multivariant playlist
/// says of it.
///
/// One I-frame per segment: the keyframe that opens it (a segment is a GOP or a run of GOPs, so
/// it starts with one; a segment a bound cut elsewhere contributes its first keyframe, if any).
/// Listing one per segment keeps the I-frame playlist's media sequence numbers those of the
/// segments, which every node knows from the writer's stamps; counting every keyframe would
/// need the keyframes of segments a node that started late never saw. Each entry's duration runs
/// to the next entry (RFC 8216 §4.3.3.6: the next I-frame *in the playlist*). Where the keyframe
/// sits is read back from the segment's own MPEG-TS (`MPEGTSVideoIndex`), so the ranges are a
/// function of the bytes every node serves.
extension LiveTimeline {
    /// One listed I-frame: its segment and where in it.
    struct IFrame {
        var segment: SegmentRecord
        var keyframe: MPEGTSVideoIndex.Unit
        /// Seconds from the segment's first video frame to the keyframe.
        var delay: Double
        /// Bytes of the segment's PAT and PMT (`MPEGTSVideoIndex.tablesLength`).
        var tablesLength: Int
    }

    /// The I-frames of the classic playlist's window, oldest first, with each one's start in
    /// seconds from the start of the window's first segment. Each finished segment's TS is read
    /// once (`cache`), not on every request.
    func iFrames(cache: KeyframeIndexCache = .shared) -> [(frame: IFrame, start: Double)] {
        var elapsed = 0.0
        var found: [(frame: IFrame, start: Double)] = []
        let window = segments.filter(\.isComplete).suffix(configuration.listSize)
        if let oldest = window.first { cache.forget(session: oldest.tracks.name, before: oldest.mediaSequence) }
        for segment in window {
            defer { elapsed += segment.duration }
            guard let indexed = cache.keyframe(of: segment) else { continue }
            let (first, keyframe) = (indexed.first, indexed.keyframe)
            let delay = first.dts.flatMap { start in
                keyframe.dts.map { Double(MPEGTSVideoIndex.ticks(from: start, to: $0)) / 90_000 }
            } ?? 0
            // A keyframe past the segment's end would be a broken stream's timestamps: listed at the end.
            let clamped = min(delay, segment.duration)
            found.append((IFrame(segment: segment, keyframe: keyframe, delay: clamped, tablesLength: indexed.tablesLength),
                          elapsed + clamped))
        }
        return found
    }

    /// The I-frame playlist (`iframes.m3u8`) of the classic HLS window; nil before a segment
    /// with a keyframe is complete.
    func iFramePlaylist(cache: KeyframeIndexCache = .shared) -> IFramePlaylist? {
        let frames = iFrames(cache: cache)
        guard let first = frames.first else { return nil }
        let windowEnd = segments.filter(\.isComplete).suffix(configuration.listSize).reduce(0) { $0 + $1.duration }
        var entries: [IFramePlaylist.Entry] = []
        for (index, listed) in frames.enumerated() {
            let next = index + 1 < frames.count ? frames[index + 1].start : windowEnd
            let segment = listed.frame.segment
            // A discontinuity in a segment without a keyframe carries over to the next entry.
            let discontinuity = index > 0 && segments.contains {
                $0.mediaSequence > frames[index - 1].frame.segment.mediaSequence && $0.mediaSequence <= segment.mediaSequence
                    && $0.discontinuity
            }
            entries.append(IFramePlaylist.Entry(
                uri: PackagedResource.tsSegment(session: segment.tracks.name, mediaSequence: segment.mediaSequence).relativePath,
                duration: max(0, next - listed.start), length: listed.frame.keyframe.length, offset: listed.frame.keyframe.offset,
                discontinuity: discontinuity, programDate: segment.programDate + Int64((listed.frame.delay * 1000).rounded()),
                tablesLength: listed.frame.tablesLength))
        }
        let target = entries.reduce(Int(configuration.segmentSeconds.rounded(.up))) { max($0, Int($1.duration.rounded())) }
        return IFramePlaylist(targetDuration: target, mediaSequence: first.frame.segment.mediaSequence,
                              discontinuitySequence: first.frame.segment.discontinuitySequence, entries: entries)
    }

    /// What a multivariant playlist's `EXT-X-I-FRAME-STREAM-INF` says of the I-frame playlist:
    /// the peak bits per second of its I-frames over their durations; nil when there is no video
    /// or no I-frame yet.
    var iFrameBandwidth: Int? {
        guard let playlist = iFramePlaylist() else { return nil }
        let rates = playlist.entries.compactMap { entry -> Double? in
            entry.duration > 0 ? Double(entry.length * 8) / entry.duration : nil
        }
        return rates.max().map { Int($0.rounded(.up)) }
    }
}

/// The thumbnail track as the packager lists it: in the multivariant playlist and the MPD. The
/// sprites themselves come from the snapshot worker and are served by the API (`thumbnails.m3u8`,
/// `thumbnails/{name}`); their names follow from the layout and the picture size alone.
extension LiveTimeline {
    /// The tile height of the session's pictures under `layout`; nil without video.
    func thumbnailTileHeight(_ layout: ThumbnailLayout) -> Int? {
        guard let size = (currentTracks?.video ?? segments.last?.tracks.video)?.size else { return nil }
        return layout.tileHeight(width: size.width, height: size.height)
    }

    /// `EXT-X-I-FRAME-STREAM-INF` (when I-frame playlists are on and there is video) and
    /// `EXT-X-IMAGE-STREAM-INF` (when thumbnails are on) for a multivariant playlist at the
    /// stream's folder; `rendition` prefixes the I-frame playlist's URI.
    func trickPlayStreams(rendition: String? = nil, images: Bool = true) -> [MultivariantPlaylist.TrickPlayStream] {
        var streams: [MultivariantPlaylist.TrickPlayStream] = []
        let tracks = currentTracks ?? segments.last?.tracks
        if configuration.hls, configuration.trickPlay.iFramePlaylists, let video = tracks?.video {
            let uri = (rendition.map { "\($0)/" } ?? "") + PackagedResource.iFramePlaylistPath
            streams.append(.init(kind: .iFrames, uri: uri, bandwidth: iFrameBandwidth ?? 200_000, codecs: [video.codecString],
                                 resolution: video.size))
        }
        if images, let layout = configuration.trickPlay.thumbnails, let height = thumbnailTileHeight(layout) {
            let sprite = ThumbnailSprite(number: 0, layout: layout, tileHeight: height)
            streams.append(.init(kind: .images, uri: "thumbnails.m3u8", bandwidth: sprite.bandwidth, codecs: ["jpeg"],
                                 resolution: PictureSize(width: layout.tileWidth, height: height)))
        }
        return streams
    }

    /// The MPD's thumbnail representation for a period listing `members`: every sprite that
    /// overlaps them, on a millisecond timeline of Unix time (a sprite's number times its
    /// duration), the period starting at `origin + periodMediaStart`.
    func thumbnailRepresentation(of members: [SegmentRecord]) -> DASHManifest.Representation? {
        guard let layout = configuration.trickPlay.thumbnails, let first = members.first, let last = members.last,
              let height = thumbnailTileHeight(layout) else { return nil }
        let start = first.programDate, end = last.programDate + Int64((last.duration * 1000).rounded())
        guard start >= 0, end > start else { return nil }
        let firstSprite = start / layout.spriteMilliseconds, lastSprite = max(firstSprite, (end - 1) / layout.spriteMilliseconds)
        let sprite = ThumbnailSprite(number: firstSprite, layout: layout, tileHeight: height)
        var representation = DASHManifest.Representation(
            id: "thumbnails", contentType: "image", mimeType: "image/jpeg", codecs: "jpeg", bandwidth: sprite.bandwidth,
            size: PictureSize(width: sprite.width, height: sprite.height), timescale: 1000, initialization: "",
            media: ThumbnailSprite.template(layout), startNumber: Int(firstSprite),
            presentationTimeOffset: UInt64(max(0, first.origin + max(0, first.periodMediaStart))),
            timeline: [.init(time: UInt64(sprite.start), duration: UInt64(layout.spriteMilliseconds),
                             repeatCount: Int(lastSprite - firstSprite))])
        representation.thumbnailTiles = "\(layout.columns)x\(layout.rows)"
        return representation
    }
}

extension PackagedResource {
    /// Where a classic HLS variant's I-frame playlist is, beside its playlist.
    static let iFramePlaylistPath = "iframes.m3u8"
}

extension StreamPackage {
    func trickPlayStreams(rendition: String? = nil, images: Bool = true) -> [MultivariantPlaylist.TrickPlayStream] {
        state.withLockedValue { $0.timeline.trickPlayStreams(rendition: rendition, images: images) }
    }
}

extension PackagerHub {
    /// What an ABR master playlist lists for trick play: each rendition's I-frame playlist
    /// (`iFrames`, classic masters) and the stream's one thumbnail track, described from the
    /// lowest rendition.
    static func trickPlay(of renditions: [(name: String, package: StreamPackage)], iFrames: Bool)
        -> [MultivariantPlaylist.TrickPlayStream] {
        let frames = iFrames ? renditions.flatMap { name, package in
            package.trickPlayStreams(rendition: name, images: false)
        } : []
        let images = renditions.first?.package.trickPlayStreams().filter { $0.kind == .images } ?? []
        return frames + images
    }
}

extension StreamPackage {
    /// The I-frame playlist as it stands: `.notFound` when the stream makes none (no classic HLS,
    /// I-frame playlists off, no video) or has no complete segment with a keyframe yet.
    public func iFramePlaylist() -> PackagedResponse {
        guard configuration.hls, configuration.trickPlay.iFramePlaylists,
              let text = state.withLockedValue({ $0.timeline.iFramePlaylist()?.render() }) else { return .notFound }
        let body = ByteBuffer(string: text)
        return .content(body, contentType: PackagedResource.classicPlaylist.contentType, entityTag: EntityTag.of(body), isPlaylist: true)
    }
}
