import Media
import NIOConcurrencyHelpers
import NIOCore

/// Where each finished segment's first keyframe and its PAT/PMT sit in its MPEG-TS, read once
/// (`MPEGTSVideoIndex`): a finished segment never changes, so I-frame playlists and the
/// multivariant playlists' I-frame bandwidth are written without parsing TS on each request.
///
/// An entry is found by the segment's session, sequence, and the very bytes: it keeps the TS
/// buffer it was read from (shared storage, no copy), so while it is kept no other buffer can sit
/// at that address; a buffer written again after being read (copy on write) misses. Bounded: a
/// timeline's entries for segments that left its window go at its next request, and at most
/// `capacity` entries and `maxBytes` of kept TS stay (the oldest read go first).
final class KeyframeIndexCache: Sendable {
    struct Keyframe: Sendable, Hashable {
        var first: MPEGTSVideoIndex.Unit
        var keyframe: MPEGTSVideoIndex.Unit
        var tablesLength: Int
    }

    private struct Key: Hashable {
        var session: String
        var sequence: Int
        var address: UInt
        var length: Int
    }

    private struct Kept {
        var keyframe: Keyframe?
        var ts: ByteBuffer
        var serial: UInt64
    }

    private struct Entries {
        var kept: [Key: Kept] = [:]
        var bytes = 0
        var serial: UInt64 = 0
        var reads = 0
    }

    static let shared = KeyframeIndexCache(capacity: 1024, maxBytes: 64 << 20)

    // A lock: packages on any thread look up and add entries, each for a moment (never while parsing).
    private let entries = NIOLockedValueBox(Entries())
    let capacity: Int
    let maxBytes: Int

    init(capacity: Int, maxBytes: Int) {
        self.capacity = max(1, capacity)
        self.maxBytes = max(0, maxBytes)
    }

    /// How many segments' TS were parsed (cache misses), for tests.
    var reads: Int { entries.withLockedValue { $0.reads } }
    var count: Int { entries.withLockedValue { $0.kept.count } }

    /// The first video unit and first keyframe of finished `segment` (nil without one), and its tables' length.
    func keyframe(of segment: SegmentRecord) -> Keyframe? {
        let ts = segment.ts
        guard ts.readableBytes > 0 else { return nil }
        let address = ts.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        let key = Key(session: segment.tracks.name, sequence: segment.mediaSequence, address: address, length: ts.readableBytes)
        if let kept = entries.withLockedValue({ $0.kept[key] }) { return kept.keyframe }
        let found = MPEGTSVideoIndex.firstKeyframe(in: ts).map { first, keyframe in
            Keyframe(first: first, keyframe: keyframe, tablesLength: MPEGTSVideoIndex.tablesLength(in: ts))
        }
        entries.withLockedValue { entries in
            entries.reads += 1
            entries.serial &+= 1
            if let old = entries.kept.updateValue(Kept(keyframe: found, ts: ts, serial: entries.serial), forKey: key) {
                entries.bytes -= old.ts.readableBytes
            }
            entries.bytes += ts.readableBytes
            while entries.kept.count > capacity || (entries.bytes > maxBytes && entries.kept.count > 1),
                  let oldest = entries.kept.min(by: { $0.value.serial < $1.value.serial }) {
                entries.kept[oldest.key] = nil
                entries.bytes -= oldest.value.ts.readableBytes
            }
        }
        return found
    }

    /// Lets go of `session`'s entries before sequence `first` (they left a window).
    func forget(session: String, before first: Int) {
        entries.withLockedValue { entries in
            for (key, kept) in entries.kept where key.session == session && key.sequence < first {
                entries.kept[key] = nil
                entries.bytes -= kept.ts.readableBytes
            }
        }
    }
}
