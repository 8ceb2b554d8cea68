import NIOCore

/// Finding segments and parts by name, and deciding when a blocking request can be answered.
extension LiveTimeline {
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

    /// Where segment `mediaSequence` sits in `segments`, whose numbers follow on without gaps.
    func index(of mediaSequence: Int) -> Int? {
        // Numbers are never negative, so once `mediaSequence` is at least the first the
        // difference cannot overflow, whatever a request asked for.
        guard let first = segments.first?.mediaSequence, mediaSequence >= first else { return nil }
        let index = mediaSequence - first
        return segments.indices.contains(index) ? index : nil
    }

    func hasFinishedSegment(_ kind: TrackKind) -> Bool {
        segments.contains { $0.isFinished(kind) && $0.tracks.track(kind) != nil }
    }

    /// The bytes of a media resource, if it exists and is complete.
    func media(_ resource: PackagedResource) -> ByteBuffer? {
        switch resource {
        case .tsSegment(let session, let sequence):
            guard let segment = segment(sequence), segment.tracks.name == session, segment.isComplete else { return nil }
            return segment.ts
        case .initSegment(let session, let kind):
            return (currentTracks?.name == session ? currentTracks : segments.last { $0.tracks.name == session }?.tracks)?
                .initSegment(kind)
        case .dashSegment(let session, let kind, let number):
            let segment = segments.first { $0.tracks.name == session && $0.mediaSequence - $0.periodFirstSegment == number }
            return segment?.cmafBytes(kind)
        case .cmafSegment(let session, let kind, let sequence):
            guard let segment = segment(sequence), segment.tracks.name == session else { return nil }
            return segment.cmafBytes(kind)
        case .cmafPart(let session, let kind, let sequence, let part):
            return self.part(session: session, kind, sequence, part)?.bytes
        default:
            return nil
        }
    }

    func part(session: String, _ kind: TrackKind, _ sequence: Int, _ index: Int) -> PartRecord? {
        guard let segment = segment(sequence), segment.tracks.name == session,
              let parts = segment.parts[kind], parts.indices.contains(index) else { return nil }
        return parts[index]
    }

    /// The part a preload hint names: the next one of the segment `kind` is filling, or the
    /// first of the segment after it.
    func isNextPart(session: String, _ kind: TrackKind, _ sequence: Int, _ index: Int) -> Bool {
        guard let (current, completed) = position(of: kind), currentTracks?.name == session else { return false }
        return (sequence == current && index == completed) || (sequence == current + 1 && index == 0)
    }

    /// A playlist request with `_HLS_msn` (and maybe `_HLS_part`): ready when that segment (or
    /// part) is in the playlist; 400 when it is further ahead than RFC 8216bis §6.2.5.2 allows
    /// (two segments, or the Advance Part Limit of parts).
    func blockingReadiness(_ kind: TrackKind, mediaSequence: Int, part: Int?) -> Readiness {
        if isListed(kind, mediaSequence, part) { return .ready }
        guard let (current, completed) = position(of: kind) else {
            return segments.isEmpty ? .wait({ $0.isListed(kind, mediaSequence, part) }) : .ready
        }
        let lastListed = completed > 0 ? current : current - 1
        if mediaSequence > lastListed + 2 {
            return .tooFarAhead("_HLS_msn=\(mediaSequence) is more than two segments past \(lastListed)")
        }
        let advanceLimit = configuration.partSeconds < 1 ? Int((3 / configuration.partSeconds).rounded(.up)) : 3
        if let part, mediaSequence == current, part > completed - 1 + advanceLimit {
            return .tooFarAhead("_HLS_part=\(part) is more than \(advanceLimit) parts past the last one")
        }
        return .wait({ $0.isListed(kind, mediaSequence, part) })
    }

    /// Whether the `kind` playlist lists segment `sequence` (or its part `part`). A part index
    /// past a finished segment's last part means the next segment's first part (§6.2.5.2).
    func isListed(_ kind: TrackKind, _ sequence: Int, _ part: Int?) -> Bool {
        guard let (current, completed) = position(of: kind) else {
            return segments.last.map { $0.mediaSequence >= sequence } ?? false
        }
        if sequence < current {
            guard let part, let segment = segment(sequence) else { return true }
            return part < segment.parts[kind, default: []].count || sequence + 1 < current || completed > 0
        }
        guard let part, sequence == current else { return false }
        return part < completed
    }
}

/// Whether a request can be answered now.
enum Readiness {
    case ready
    case missing
    case tooFarAhead(String)
    /// Not yet: answer when the condition holds.
    case wait(@Sendable (LiveTimeline) -> Bool)
}
